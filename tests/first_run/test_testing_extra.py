"""``pip install "analytics-orchestration[testing]"`` installs what the bundled handlers import.

The offline harness imports each handler in-process, without its Lambda layer (Powertools):
a package the handlers import that the extra does not install makes every handler fail to
import in a user's environment. Building a fresh virtualenv per test run is too slow, so the
extra is checked statically: every top-level import of ``lambda_src/**.py`` (found with
``ast``) is the standard library, a sibling module of the handler, boto3/botocore (in the
Lambda runtime) or a distribution the ``testing`` extra names, dependencies included.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

from tests.support import REPOSITORY_ROOT

LAMBDA_SRC = REPOSITORY_ROOT / "analytics_orchestration" / "lambda_src"
#: In every Python Lambda runtime; the extra need not (but may) install them.
RUNTIME_PROVIDED = {"boto3", "botocore"}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*")
_EXTRAS = re.compile(r"\[([^\]]*)\]")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _testing_requirements() -> list[str]:
    pyproject = tomllib.loads((REPOSITORY_ROOT / "pyproject.toml").read_text())
    return list(pyproject["project"]["optional-dependencies"]["testing"])


def _requirement_closure(requirements: list[str]) -> set[str]:
    """The distributions a requirement list installs: each one, its extras and dependencies.

    Read from the installed metadata (this environment installed the extra), following
    only markers that apply (``extra == ...`` for the extras asked for).
    """
    seen: set[str] = set()
    todo: list[tuple[str, frozenset[str]]] = []
    for requirement in requirements:
        spec = requirement.split(";")[0]
        name = _NAME.match(spec.strip())
        assert name, requirement
        extras = _EXTRAS.search(spec)
        todo.append((name.group(0), frozenset(
            e.strip() for e in extras.group(1).split(",")) if extras else frozenset()))
    while todo:
        name, extras = todo.pop()
        key = f"{_canonical(name)}[{','.join(sorted(extras))}]"
        if key in seen:
            continue
        seen.add(key)
        for dependency in importlib.metadata.requires(name) or []:
            spec, _, marker = dependency.partition(";")
            marker = marker.strip()
            if marker:
                wanted = re.findall(r"extra\s*==\s*['\"]([^'\"]+)['\"]", marker)
                if wanted and not set(wanted) & extras:
                    continue
                if not wanted and not _marker_applies(marker):
                    continue
            dep_name = _NAME.match(spec.strip())
            assert dep_name, dependency
            dep_extras = _EXTRAS.search(spec)
            todo.append((dep_name.group(0), frozenset(
                e.strip() for e in dep_extras.group(1).split(",")) if dep_extras else frozenset()))
    return {key.split("[")[0] for key in seen}


def _marker_applies(marker: str) -> bool:
    from packaging.markers import Marker

    return Marker(marker).evaluate()


def _handler_imports() -> dict[str, set[Path]]:
    """Top-level names imported by the handlers (not their sibling modules), by file."""
    imports: dict[str, set[Path]] = {}
    for path in sorted(LAMBDA_SRC.rglob("*.py")):
        siblings = {p.stem for p in path.parent.glob("*.py")} | {
            p.name for p in path.parent.iterdir() if p.is_dir()}
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top not in siblings and top not in sys.stdlib_module_names \
                        and top != "__future__":
                    imports.setdefault(top, set()).add(path.relative_to(LAMBDA_SRC))
    return imports


def test_every_third_party_handler_import_is_installed_by_the_testing_extra():
    imports = _handler_imports()
    assert "aws_lambda_powertools" in imports  # the walk sees the handlers' imports
    provided = _requirement_closure(_testing_requirements())
    distributions = importlib.metadata.packages_distributions()
    missing = {}
    for top, files in sorted(imports.items()):
        if top in RUNTIME_PROVIDED:
            continue
        owners = {_canonical(d) for d in distributions.get(top, [])}
        if not owners & provided:
            missing[top] = (sorted(owners) or ["not installed"], sorted(map(str, files)))
    assert missing == {}, f"imported by the handlers, not installed by [testing]: {missing}"


def test_powertools_tracer_dependency_comes_with_the_extra():
    """The handlers' ``Tracer`` imports the X-Ray SDK at import time (Powertools' extra)."""
    provided = _requirement_closure(_testing_requirements())
    assert {"aws-lambda-powertools", "aws-xray-sdk"} <= provided
