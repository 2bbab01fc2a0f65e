"""Every code block of README.md runs as written (or is checked, when it cannot run here).

- ``python`` blocks each run in an empty directory of its own (no cdk.json, no CDK CLI),
  as a new user pasting one into a file would run it: a script as ``python snippet.py`` in
  a fresh interpreter; a block that defines ``test_`` functions is a pytest module, and the
  README's modules run in one pytest session (one start of pytest, moto and jsii instead of
  one each; the ``offline_aws`` fixture comes from the installed package's plugin), where
  each must report all its tests passed.
- ``bash`` blocks name commands that need a network, AWS credentials or a path of the
  user's: each command is checked against what it names instead (Makefile targets,
  pyproject extras and version, context keys the library reads, the pinned CDK CLI).
- ``json`` blocks parse; ``text`` blocks are diagrams, except the Layout, whose paths exist.

No README block is exempt; a new kind of block or command fails here until it is handled.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import pytest

from tests.app_py_runner import CLI_ENVIRONMENT
from tests.support import REPOSITORY_ROOT

README = REPOSITORY_ROOT / "README.md"
_FENCE = re.compile(r"^```(?P<lang>[\w-]*)\n(?P<code>.*?)^```$", re.MULTILINE | re.DOTALL)
_HEADING = re.compile(r"^#+ (.+)$", re.MULTILINE)


@dataclass(frozen=True)
class Block:
    lang: str
    code: str
    line: int
    heading: str

    @property
    def name(self) -> str:
        return f"README.md:{self.line} ({self.lang}, under {self.heading!r})"


def _blocks() -> list[Block]:
    text = README.read_text()
    headings = [(m.start(), m.group(1)) for m in _HEADING.finditer(text)]
    blocks = []
    for match in _FENCE.finditer(text):
        heading = [h for start, h in headings if start < match.start()][-1]
        blocks.append(Block(match.group("lang"), match.group("code"),
                            text.count("\n", 0, match.start()) + 1, heading))
    return blocks


BLOCKS = _blocks()
PYTHON = [b for b in BLOCKS if b.lang == "python"]


def test_every_block_has_a_kind_this_test_handles():
    assert {b.lang for b in BLOCKS} <= {"python", "bash", "json", "text"}, [
        b.name for b in BLOCKS if b.lang not in {"python", "bash", "json", "text"}]
    assert len(PYTHON) >= 4  # the parse found the README's snippets


def _environment() -> dict[str, str]:
    # What only the CDK CLI sets: a user pasting a block has none of it.
    env = {k: v for k, v in os.environ.items() if k not in CLI_ENVIRONMENT}
    env["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] = "20"
    env.pop("PYTHONPATH", None)  # only what is installed, as for a user of the package
    return env


def _is_test_module(block: Block) -> bool:
    return bool(re.search(r"^def test_", block.code, re.MULTILINE))


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, env=_environment(), capture_output=True,
                          text=True, timeout=900, check=False)


def _output(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout[-4000:] + result.stderr[-4000:]


@pytest.fixture(scope="module")
def readme_module_outcomes(tmp_path_factory: pytest.TempPathFactory
                         ) -> tuple[dict[str, list[str]], str]:
    """The blocks that define tests, each a module in a directory of its own, run in one
    pytest session: each module's test outcomes, and the session's output."""
    root = tmp_path_factory.mktemp("readme-tests")
    files = []
    for block in filter(_is_test_module, PYTHON):
        module = root / f"line{block.line}" / f"test_readme_line{block.line}.py"
        module.parent.mkdir()
        module.write_text(block.code)
        files.append(str(module.relative_to(root)))
    result = _run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                   "--junitxml=results.xml", *files], root)
    outcomes: dict[str, list[str]] = {}
    if (root / "results.xml").exists():
        for case in ElementTree.parse(root / "results.xml").getroot().iter("testcase"):
            bad = [child.tag for child in case if child.tag in {"failure", "error", "skipped"}]
            module = case.get("classname", "").rsplit(".", 1)[-1]
            outcomes.setdefault(module, []).append(bad[0] if bad else "passed")
    return outcomes, _output(result)


@pytest.mark.parametrize("block", PYTHON, ids=[f"line{b.line}" for b in PYTHON])
def test_python_block_runs_as_written(block: Block, tmp_path: Path,
                                      request: pytest.FixtureRequest):
    if _is_test_module(block):
        outcomes, output = request.getfixturevalue("readme_module_outcomes")
        tests = len(re.findall(r"^def test_", block.code, re.MULTILINE))
        reported = outcomes.get(f"test_readme_line{block.line}", [])
        assert reported == ["passed"] * tests, f"{block.name}: {reported}\n{output}"
    else:
        # A fresh interpreter each, not one for all: jsii's node kernel keeps the working
        # directory it started in, so in a shared interpreter a later block's relative asset
        # path (``Path("handlers/indexer")``) would resolve in the first block's directory.
        (tmp_path / "snippet.py").write_text(block.code)
        result = _run([sys.executable, "snippet.py"], tmp_path)
        assert result.returncode == 0, f"{block.name} failed:\n{_output(result)}"


# ------------------------------------------------------------------------------ bash
def _pyproject() -> dict:
    return tomllib.loads((REPOSITORY_ROOT / "pyproject.toml").read_text())


def _make_targets() -> set[str]:
    makefile = (REPOSITORY_ROOT / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z][\w-]*):", makefile, re.MULTILINE))


def _check_pip_target(target: str) -> None:
    project = _pyproject()["project"]
    base, _, extras = target.partition("[")
    for extra in filter(None, extras.rstrip("]").split(",")):
        assert extra in project["optional-dependencies"], f"no extra {extra!r}"
    if base.endswith(".whl"):
        name, version = Path(base).name.split("-")[:2]
        assert name == project["name"].replace("-", "_") and version == project["version"]
    else:
        assert base == "/path/to/analytics-orchestration", f"unexpected pip target {target}"


def _check_command(words: list[str]) -> None:
    if words[0] == "make":
        assert set(words[1:]) <= _make_targets(), words
    elif words[:2] == ["pip", "install"]:
        for target in words[2:]:
            _check_pip_target(target)
    elif words[:2] == ["pip", "wheel"]:
        assert words[2] == "/path/to/analytics-orchestration" and "--no-deps" in words
        assert words[words.index("-w") + 1] == "dist/"
    elif words[:2] == ["npx", "cdk"]:
        package = json.loads((REPOSITORY_ROOT / "package.json").read_text())
        assert "aws-cdk" in package.get("devDependencies", {}) | package.get(
            "dependencies", {})
        assert words[2] in {"synth", "deploy", "diff"}, words
        from analytics_orchestration.constructs._foundation.removal import (
            DESTROY_ON_REMOVAL_CONTEXT_KEY,
        )

        for flag, value in itertools.pairwise(words):
            if flag == "-c":
                key = value.split("=")[0]
                assert key == DESTROY_ON_REMOVAL_CONTEXT_KEY, f"unknown context key {key}"
    elif words[:3] == ["python", "-m", "analytics_orchestration.diagrams"]:
        from analytics_orchestration.diagrams.__main__ import parser

        parser().parse_args(words[3:])  # exits (SystemExit) on an argument it does not take
    else:
        pytest.fail(f"no check for the README command {' '.join(words)!r}")


def test_bash_blocks_name_only_what_exists():
    checked = 0
    for block in (b for b in BLOCKS if b.lang == "bash"):
        for line in block.code.splitlines():
            words = shlex.split(line, comments=True)
            if words:
                _check_command(words)
                checked += 1
    assert checked >= 7


def test_json_blocks_parse():
    blocks = [b for b in BLOCKS if b.lang == "json"]
    assert blocks
    for block in blocks:
        json.loads(block.code)


def test_every_path_of_the_layout_exists():
    [layout] = [b for b in BLOCKS if b.heading == "Layout"]
    parents: list[tuple[int, Path]] = []
    checked = 0
    for line in layout.code.splitlines():
        match = re.match(r"^( *)(\S.*?)(?: {2,}.*)?$", line)
        if not match or line.startswith(" " * 10):
            continue  # a description continued on the next line
        depth = len(match.group(1))
        parents = [(d, p) for d, p in parents if d < depth]
        base = parents[-1][1] if parents else REPOSITORY_ROOT
        for name in re.sub(r"\(.*?\)", "", match.group(2)).split(","):
            path = base / name.strip()
            assert path.exists(), f"{line.strip()!r}: {path} does not exist"
            checked += 1
            if name.strip().endswith("/"):
                parents.append((depth, path))
    assert checked >= 15
