"""Static checks of every DAG file of the example environment, without Airflow installed.

The full DagBag load runs in its own pinned environment (``make test-dags``); these checks
run in every ``make test``: each DAG file parses, imports only what the MWAA environment has
(the standard library, Airflow and the packages MWAA installs with it, and what
``requirements.txt`` adds), and makes no AWS call (nor reads an Airflow Variable, nor builds
a hook) at module level, where the scheduler would make it on every parse of the file.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from stacks.airflow_stack import ASSETS

DAGS = sorted((ASSETS / "dags").glob("*.py"))
#: What MWAA 2.10.3 provides without requirements: Airflow, the providers it installs
#: (the Amazon provider among them) and their dependencies the DAGs may import.
ENVIRONMENT_PACKAGES = frozenset({"airflow", "pendulum", "boto3", "botocore"})
#: Module-level calls that reach AWS or Airflow's database while the file is parsed.
_PARSE_TIME_CALLS = ("boto3.", "botocore.", "Variable.get", "Connection.get")


def _requirement_packages(path: Path) -> frozenset[str]:
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            for separator in ("==", ">=", "<=", "~=", "[", ";", " "):
                line = line.split(separator, 1)[0]
            names.add(line.lower().replace("-", "_"))
    return frozenset(names)


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    if isinstance(node, ast.Call):
        return _dotted(node.func)
    return ""


def imported_packages(tree: ast.Module) -> set[str]:
    packages = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            packages |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            packages.add(node.module.split(".")[0])
    return packages


def parse_time_calls(tree: ast.Module) -> list[str]:
    """Calls made when the module runs (outside any function), that reach AWS or the DB."""
    found = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            return  # runs when a task runs, not when the file is parsed
        if isinstance(node, ast.Call):
            name = _dotted(node.func)
            if name.startswith(_PARSE_TIME_CALLS) or name.split(".")[-1].endswith("Hook"):
                found.append(f"line {node.lineno}: {name}(...)")
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def test_the_example_has_dag_files():
    assert {path.name for path in DAGS} == {"sales_pipeline.py", "table_quality.py"}


@pytest.mark.parametrize("path", DAGS, ids=lambda path: path.name)
def test_dag_file_parses_and_compiles(path):
    compile(path.read_text(), str(path), "exec")


@pytest.mark.parametrize("path", DAGS, ids=lambda path: path.name)
def test_dag_file_imports_only_what_the_environment_has(path):
    allowed = (ENVIRONMENT_PACKAGES | _requirement_packages(ASSETS / "requirements.txt")
               | set(sys.stdlib_module_names) | {"__future__"})
    assert imported_packages(ast.parse(path.read_text())) - allowed == set()


@pytest.mark.parametrize("path", DAGS, ids=lambda path: path.name)
def test_dag_file_makes_no_aws_call_while_it_is_parsed(path):
    assert parse_time_calls(ast.parse(path.read_text())) == []


def test_the_checks_catch_what_they_look_for():
    bad = ast.parse(
        "import boto3\nimport pandas\nfrom airflow.models import Variable\n"
        "BUCKET = Variable.get('bucket')\nclient = boto3.client('s3')\n"
        "hook = S3Hook(aws_conn_id='aws')\n"
        "def task():\n    return boto3.client('glue')\n")
    assert parse_time_calls(bad) == ["line 4: Variable.get(...)", "line 5: boto3.client(...)",
                                     "line 6: S3Hook(...)"]
    assert imported_packages(bad) == {"boto3", "pandas", "airflow"}
    assert _requirement_packages(ASSETS / "requirements.txt") == frozenset()
