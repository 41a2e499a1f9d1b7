"""Django's TaskError wants the exception's import path; Tasker's error text gives it back."""
from __future__ import annotations

import pytest

pytest.importorskip("django")
pytest.importorskip("django_tasks")

from tasker.contrib.django.backend import exception_class_path  # noqa: E402
from tasker.outcome import describe_error  # noqa: E402


class Oops(ValueError):
    pass


def raised(error: BaseException) -> str:
    try:
        raise error
    except BaseException as exc:
        return describe_error(exc, "")


@pytest.mark.parametrize("error, path", [
    (ValueError("bad\nvalue: here"), "builtins.ValueError"),
    (Oops("no stock"), f"{__name__}.Oops"),
    (KeyError("k"), "builtins.KeyError"),
])
def test_the_class_path_is_read_back(error, path):
    assert exception_class_path(raised(error)) == path


def test_unreadable_text_falls_back_to_exception():
    assert exception_class_path("") == "builtins.Exception"
    assert exception_class_path("worker lost: lease expired") == "builtins.Exception"
