"""The package's public API: complete, consistent, and imported lazily."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import analytics_orchestration
from analytics_orchestration import constructs

PATTERN_MODULES = ("etl", "event_routing", "ingestion", "serverless_analytics", "streaming",
                   "worker_pool")


def _type_checking_names(init_file: Path) -> set[str]:
    """Names the ``if TYPE_CHECKING:`` block of a package ``__init__`` imports."""
    tree = ast.parse(init_file.read_text())
    block = next(n for n in tree.body if isinstance(n, ast.If)
                 and getattr(n.test, "id", None) == "TYPE_CHECKING")
    return {alias.asname or alias.name for node in block.body
            if isinstance(node, ast.ImportFrom) for alias in node.names}


def test_every_pattern_export_is_public_and_resolves():
    for module_name in PATTERN_MODULES:
        module = importlib.import_module(f"analytics_orchestration.constructs.{module_name}")
        for name in module.__all__:
            if name.isupper():  # module constants stay in their module
                continue
            assert getattr(constructs, name) is getattr(module, name), name
            assert getattr(analytics_orchestration, name) is getattr(module, name), name


def test_type_checking_imports_match_the_lazy_tables():
    assert _type_checking_names(Path(constructs.__file__)) == set(constructs.__all__)
    top_level = _type_checking_names(Path(analytics_orchestration.__file__))
    assert top_level == set(constructs.__all__) | {
        "DESTROY_ON_REMOVAL_CONTEXT_KEY", "TargetRetryPolicy"}
    assert top_level <= set(analytics_orchestration.__all__)


def test_unknown_names_raise_attribute_error():
    for package in (analytics_orchestration, constructs):
        try:
            package.NoSuchConstruct  # noqa: B018
        except AttributeError as error:
            assert "NoSuchConstruct" in str(error)
        else:
            raise AssertionError("expected AttributeError")


def test_using_one_construct_imports_only_its_module():
    code = (
        "import sys\n"
        "from analytics_orchestration import EventDrivenIngestion\n"
        "prefix = 'analytics_orchestration.constructs.'\n"
        "loaded = sorted(m for m in sys.modules if m.startswith(prefix) and m.count('.') == 2)\n"
        "print(','.join(loaded))\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               check=True)
    loaded = completed.stdout.strip().splitlines()[-1].split(",")
    assert "analytics_orchestration.constructs.ingestion" in loaded
    for other in ("etl", "event_routing", "serverless_analytics", "worker_pool"):
        assert f"analytics_orchestration.constructs.{other}" not in loaded
