"""The harness's modules import each other one way: facade -> services -> core.

Every ``import`` in ``analytics_orchestration.testing`` counts, including imports inside
functions and under ``if TYPE_CHECKING:`` (a type-only import still ties the modules
together for a reader). The graph is read from the source with :mod:`ast`, so the test needs
neither moto nor an import of the harness.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import analytics_orchestration

PACKAGE = "analytics_orchestration.testing"
ROOT = Path(analytics_orchestration.__file__).parent / "testing"


def _module_name(path: Path) -> str:
    relative = path.relative_to(ROOT).with_suffix("")
    parts = [p for p in relative.parts if p != "__init__"]
    return ".".join([PACKAGE, *parts])


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _imports(module: str, path: Path, known: set[str]) -> Iterator[str]:
    """The modules of the package that ``module`` imports (absolute or relative)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    is_package = path.name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in known:
                    yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            submodules = [f"{target}.{a.name}" for a in node.names
                          if f"{target}.{a.name}" in known]  # ``from pkg import module``
            yield from submodules
            if target in known and len(submodules) < len(node.names):
                yield target


def import_graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports (package ``__init__`` edges excluded:
    importing ``a.b.c`` runs ``a.b``'s ``__init__`` by Python's rules, not by choice)."""
    modules = _modules()
    known = set(modules)
    return {name: {t for t in _imports(name, path, known) if t != name}
            for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path ``[a, b, ..., a]``, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            found = visit(start)
            if found:
                return found
    return None


def test_the_harness_has_no_import_cycle() -> None:
    graph = import_graph()
    assert f"{PACKAGE}.harness" in graph and f"{PACKAGE}.services.events" in graph
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def _layer(module: str) -> int:
    """0 core (and the leaf modules exceptions/_version), 1 services, 2 facade."""
    inner = module.removeprefix(PACKAGE).lstrip(".")
    if inner.startswith("core") or inner in ("exceptions", "_version"):
        return 0
    if inner.startswith("services"):
        return 1
    return 2


def test_imports_point_from_the_facade_to_services_to_core() -> None:
    upward = sorted(
        f"{module} imports {target}"
        for module, targets in import_graph().items()
        for target in targets
        if _layer(target) > _layer(module)
    )
    assert upward == []


@pytest.mark.parametrize(
    ("graph", "cyclic"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": set()}, False),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, True),
        ({"a": {"a"}}, True),
    ],
)
def test_the_cycle_finder_finds_cycles(graph: dict[str, set[str]], cyclic: bool) -> None:
    assert (find_cycle(graph) is not None) is cyclic


def test_the_graph_reads_relative_and_function_local_imports(tmp_path: Path) -> None:
    source = ("def f():\n    from . import sibling\n"
              "from .core import kernel\n"
              "if TYPE_CHECKING:\n    from analytics_orchestration.testing.harness import X\n")
    known = {f"{PACKAGE}.services.sibling", f"{PACKAGE}.services.core.kernel",
             f"{PACKAGE}.harness"}
    probe = tmp_path / "probe.py"
    probe.write_text(source)
    found = set(_imports(f"{PACKAGE}.services.probe", probe, known))
    assert found == known
