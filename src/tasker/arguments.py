"""A function task's arguments as JSON and back, by the function's annotations (pure).

``defer(42, when=datetime(...))`` stores ``{"args": [42], "kwargs": {"when": "2030-..."}}``
and the worker rebuilds a ``datetime`` from the annotation before calling the function.
Standard types need nothing else: ``datetime``, ``date``, ``time``, ``timedelta``,
``UUID``, ``Decimal``, ``Enum``, dataclasses, ``Optional``/unions with None, ``list``,
``tuple``, ``set`` and ``dict`` of those. Pydantic models (and anything inside them) go
through pydantic when it is installed; it is never needed otherwise. Payloads stay JSON.
"""
from __future__ import annotations

import dataclasses
import enum
import inspect
import types
import typing
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Callable
from uuid import UUID

try:  # an optional extra: pip install tasker-queue[pydantic]
    import pydantic
except ImportError:  # pragma: no cover - exercised by a test that hides pydantic
    pydantic = None  # type: ignore[assignment]

EMPTY = inspect.Parameter.empty
PLAIN = {EMPTY, Any, object, str, int, float, bool, type(None), None}   # annotations used as they are
ATOMS: dict[type, Callable[[Any], Any]] = {   # annotation -> how to rebuild it from JSON
    datetime: datetime.fromisoformat, date: date.fromisoformat, time: time.fromisoformat,
    timedelta: lambda seconds: timedelta(seconds=seconds), UUID: UUID, Decimal: Decimal,
}


def is_model(annotation: Any) -> bool:
    """A pydantic model class (False when pydantic is not installed)."""
    return pydantic is not None and isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel)


def encode(value: Any, annotation: Any = EMPTY) -> Any:
    """``value`` as a JSON-ready value (what ``decode`` with the same annotation turns back)."""
    if value is None or isinstance(value, (str, int, float, bool)) and not isinstance(value, enum.Enum):
        return value
    if pydantic is not None and isinstance(value, pydantic.BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, enum.Enum):
        return encode(value.value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, (UUID, Decimal)):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        hints = _hints(type(value))
        return {f.name: encode(getattr(value, f.name), hints.get(f.name, EMPTY)) for f in dataclasses.fields(value)}
    item, key_item = _items(annotation)
    if isinstance(value, dict):
        return {str(encode(k, key_item)): encode(v, item) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [encode(v, item) for v in value]
    return value   # not ours to translate: the JSON check says if it can be stored


def decode(data: Any, annotation: Any = EMPTY) -> Any:
    """A JSON value rebuilt as ``annotation`` says (unannotated: as it is)."""
    if annotation in (EMPTY, Any, object) or isinstance(annotation, (str, typing.TypeVar)):
        return data
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return _decode_union(data, typing.get_args(annotation))
    if data is None:
        return None
    if origin is typing.Literal or annotation in (str, int, float, bool):
        return data
    if is_model(annotation):
        return annotation.model_validate(data)
    if annotation in ATOMS:
        return ATOMS[annotation](data)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return annotation(data)
    if isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
        hints = _hints(annotation)
        return annotation(**{name: decode(value, hints.get(name, EMPTY)) for name, value in data.items()})
    if pydantic is not None and _holds_model(annotation):
        return pydantic.TypeAdapter(annotation).validate_python(data)
    container = origin or annotation
    item, key_item = _items(annotation)
    if container in (list, typing.List) or container is typing.Sequence:
        return [decode(v, item) for v in data]
    if container in (tuple, typing.Tuple):
        return tuple(decode(v, a) for v, a in zip(data, _tuple_items(annotation, len(data))))
    if container in (set, frozenset):
        return container(decode(v, item) for v in data)
    if container in (dict, typing.Dict) or container is typing.Mapping:
        return {decode(k, key_item): decode(v, item) for k, v in data.items()}
    return data


def _decode_union(data: Any, members: tuple[Any, ...]) -> Any:
    if data is None and type(None) in members:
        return None
    errors = []
    for member in (m for m in members if m is not type(None)):
        try:
            return decode(data, member)
        except Exception as exc:   # the next member may fit
            errors.append(exc)
    raise ValueError(f"{data!r} fits none of {members}: {errors}")


def _items(annotation: Any) -> tuple[Any, Any]:
    """(item annotation, key annotation) of a container annotation, EMPTY where unknown."""
    args = typing.get_args(annotation)
    origin = typing.get_origin(annotation)
    if origin in (dict, typing.Dict) or origin is typing.Mapping:
        return (args[1], args[0]) if len(args) == 2 else (EMPTY, EMPTY)
    if origin in (tuple, typing.Tuple):
        return (args[0] if len(args) == 2 and args[1] is Ellipsis else EMPTY), EMPTY
    return (args[0] if args else EMPTY), EMPTY


def _tuple_items(annotation: Any, length: int) -> list[Any]:
    args = typing.get_args(annotation)
    if len(args) == 2 and args[1] is Ellipsis:
        return [args[0]] * length
    return list(args) if len(args) == length else [EMPTY] * length


def _holds_model(annotation: Any) -> bool:
    return any(is_model(a) or _holds_model(a) for a in typing.get_args(annotation))


def _hints(obj: Any) -> dict[str, Any]:
    """Resolved annotations (``from __future__ import annotations`` makes them strings);
    unresolvable ones (a class defined in a function) are left out: passed as they are."""
    try:
        return typing.get_type_hints(obj)
    except Exception:
        return {}


class Signature:
    """A function's parameters, for storing a call as JSON and making it again."""

    def __init__(self, fn: Callable[..., Any]):
        self.signature = inspect.signature(fn)
        hints = _hints(fn)
        self.annotations = {name: hints.get(name, EMPTY) for name in self.signature.parameters}
        self.name = getattr(fn, "__qualname__", repr(fn))

    def to_payload(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        """``{"args": [...], "kwargs": {...}}`` for this call, as it was made (positional stay
        positional); a call that does not fit the signature raises TypeError (as calling the
        function would), before anything is stored."""
        try:
            self.signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"{self.name}(): {exc}") from None
        positional = self._positional_names(len(args))
        return {
            "args": [self._encoded(name, value, self.annotations[name]) for name, value in zip(positional, args)],
            "kwargs": {key: self._encoded(key, value, self._keyword_annotation(key)) for key, value in kwargs.items()},
        }

    def _positional_names(self, count: int) -> list[str]:
        """The parameter each of ``count`` positional arguments lands in (``*args`` takes the rest)."""
        names, rest = [], None
        for name, parameter in self.signature.parameters.items():
            if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
                names.append(name)
            elif parameter.kind is parameter.VAR_POSITIONAL:
                rest = name
        return (names + [rest] * count)[:count] if rest else names[:count]

    def _keyword_annotation(self, key: str) -> Any:
        if key in self.signature.parameters and self.signature.parameters[key].kind is not inspect.Parameter.VAR_KEYWORD:
            return self.annotations[key]
        extra = [name for name, p in self.signature.parameters.items() if p.kind is inspect.Parameter.VAR_KEYWORD]
        return self.annotations[extra[0]] if extra else EMPTY

    def _encoded(self, name: str, value: Any, annotation: Any) -> Any:
        """``value`` as JSON; for an annotation the worker rebuilds (a dataclass, a datetime...),
        checked now that it can be, so that a wrong value fails here and not in the worker."""
        data = encode(value, annotation)
        if annotation not in PLAIN:
            try:
                decode(data, annotation)
            except Exception as exc:
                raise TypeError(f"{self.name}(): argument {name!r} is {value!r:.100}, which does not fit {_spelled(annotation)} ({exc})") from None
        return data

    def from_payload(self, payload: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """The call stored by ``to_payload``, its values rebuilt from the annotations."""
        if not isinstance(payload, dict) or not isinstance(payload.get("args", []), list) or not isinstance(payload.get("kwargs", {}), dict):
            raise TypeError(f"a call of {self.name} is stored as {{'args': [...], 'kwargs': {{...}}}}, not {payload!r:.200}")
        bound = self.signature.bind(*payload.get("args", []), **payload.get("kwargs", {}))
        for name, value in bound.arguments.items():
            kind = self.signature.parameters[name].kind
            annotation = self.annotations[name]
            try:
                if kind is inspect.Parameter.VAR_POSITIONAL:
                    bound.arguments[name] = tuple(decode(v, annotation) for v in value)
                elif kind is inspect.Parameter.VAR_KEYWORD:
                    bound.arguments[name] = {k: decode(v, annotation) for k, v in value.items()}
                else:
                    bound.arguments[name] = decode(value, annotation)
            except Exception as exc:
                raise TypeError(f"argument {name!r} of {self.name} cannot be rebuilt as {annotation!r}: {exc}") from exc
        return bound.args, bound.kwargs


def _spelled(annotation: Any) -> str:
    return getattr(annotation, "__name__", None) or str(annotation)


def result_of(value: Any, annotation: Any = EMPTY) -> Any:
    """A function task's return value as JSON-ready data (a dataclass, a datetime... as JSON)."""
    return encode(value, annotation)
