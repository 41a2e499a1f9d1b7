"""The layers of ARCHITECTURE.md, checked: each module imports only from its own layer or
below, the worker reaches the stores only through the protocol, and the entry points
(CLI, web) only through the facade."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "tasker"

# Lowest first. A module may import from its own layer and those before it.
LAYERS: list[tuple[str, set[str]]] = [
    ("foundation", {"tasker.background", "tasker.loop", "tasker.limits", "tasker.errors", "tasker.ids", "tasker.jsonable",
                    "tasker.tracebacks"}),
    ("rules and records", {"tasker.task", "tasker.checks", "tasker.retry", "tasker.cron", "tasker.series", "tasker.enqueue",
                           "tasker.context", "tasker.handlers", "tasker.outcome", "tasker.store.records", "tasker.store.base",
                           "tasker.store.url", "tasker.store.sqlfiles", "tasker.arguments", "tasker.tallies"}),
    ("stores", {"tasker.store", "tasker.store.simple", "tasker.store.postgres", "tasker.store.sqlite"}),
    ("worker", {"tasker.worker", "tasker.logs"}),
    ("runtime", {"tasker.runtime"}),
    ("facade", {"tasker.app", "tasker.tasks", "tasker"}),
    ("testing", {"tasker.testing", "tasker.pytest_plugin"}),
    ("entry points", {"tasker.cli", "tasker.web", "tasker.demo", "tasker.__main__", "tasker.contrib"}),
]
# Beyond the order: what a layer must never import even though it lies below.
FORBIDDEN = {
    "worker": ("tasker.store.postgres", "tasker.store.sqlite", "tasker.store.simple"),     # only the protocol
    "entry points": ("tasker.worker", "tasker.store.postgres", "tasker.store.sqlite", "tasker.runtime"),  # only the facade
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> int:
    best, depth = -1, -1
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and prefix.count(".") > depth:
                best, depth = index, prefix.count(".")
    assert best >= 0, f"{module} belongs to no layer: add it to LAYERS (and ARCHITECTURE.md)"
    return best


def imports_of(path: Path) -> set[str]:
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
                names = [f"{target}.{alias.name}" for alias in node.names] if not node.module else [target]
                found.update(names)
            elif node.module and node.module.startswith("tasker"):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("tasker"))
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_imports_follow_the_layers(path):
    module = module_name(path)
    own = layer_of(module)
    for target in imports_of(path):
        if not target.startswith("tasker"):
            continue
        target_layer = layer_of(target) if target != "tasker" else layer_of("tasker")
        assert target_layer <= own, f"{module} ({LAYERS[own][0]}) imports {target} ({LAYERS[target_layer][0]}), a layer above it"
        for banned in FORBIDDEN.get(LAYERS[own][0], ()):
            assert not (target == banned or target.startswith(banned + ".")), f"{module} must not import {target}"
