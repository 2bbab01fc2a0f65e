"""cfn-guard with the Control Tower rules: on every core, each run on what its rules read.

``cdk-validator-cfnguard`` runs its bundled cfn-guard binary with ``spawnSync`` from inside
the jsii kernel: one template after another, on one core, each against all its rules, while
the rest of the machine waits. On the example app that was 26-32 s of a 48 s synth (issue
#16, ``benchmarks/_guard.py``). This module runs the *same binary* on the *same rule files*
with the *same flags*, several processes at once, each on the part of a template its rules
can read (:func:`split_by_rule_types`), and turns guard's output into the plugin's
violations with a line-for-line port of the plugin's own result handling (``lib/plugin.js``:
``execGuard`` and its JSON ``reviver``; ``lib/check.js``: ``ViolationCheck``), JavaScript's
semantics included (``undefined`` against ``null``, ``??`` against ``||``, ``Object.values``
of a string, the TypeErrors the plugin turns into a failed synth).
``tests/constructs/test_cfn_guard_port.py`` proves the reports equal the plugin's own on
whole templates, field for field and in order, on templates with hundreds of findings of
most of the bundled rules, and that every bundled rule reads resources only in the ways the
split relies on.

Nothing here decides which rules apply: :mod:`analytics_orchestration.compliance` chooses
them per template; this module runs them and reads the answer.
"""

from __future__ import annotations

import atexit
import functools
import importlib.resources
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from aws_cdk import PolicyViolatingResourceBeta1, PolicyViolationBeta1

#: Where the Control Tower rule files sit in the plugin's package.
CONTROL_TOWER_RULES = "rules/control-tower/cfn-guard"
#: The flags the plugin gives guard after the rules and the data (``execGuard``).
OUTPUT_FLAGS = ("--output-format", "json", "--show-summary", "none", "--structured")
#: guard's exit codes for "ran, found violations" (the plugin's ``utils.exec``).
_VIOLATIONS_FOUND = (5, 19)
#: The documentation link the plugin puts on every violation (``generateRuleDocUrl``).
RULE_DOC_URL = "https://github.com/cdklabs/cdk-validator-cfnguard#bundled-control-tower-rules"


class GuardFailed(RuntimeError):
    """cfn-guard did not run, or its output is not what the plugin can read.

    The plugin fails the synth in both cases (``CfnGuardValidator plugin failed processing
    cfn-guard results``); so does this module, naming the template and the cause.
    """


def cfnguard_bundle() -> Traversable:
    """The ``cdk-validator-cfnguard`` jsii bundle (its rules and cfn-guard binaries), as
    installed."""
    bundle_dir = importlib.resources.files("cdklabs.cdk_validator_cfnguard._jsii")
    (bundle,) = (entry for entry in bundle_dir.iterdir() if entry.name.endswith(".jsii.tgz"))
    return bundle


def _binary_folder() -> str:
    """``bin/<platform>/<architecture>``, chosen as the plugin's ``getPlatform`` and
    ``getArchitecture`` choose (guard calls every Linux "ubuntu")."""
    system = {"linux": "ubuntu", "darwin": "macos"}.get(sys.platform)
    if system is None:
        raise GuardFailed(f"{sys.platform} not supported, must be either 'darwin' or 'linux'")
    machine = platform.machine().lower()
    architecture = {"x86_64": "x86_64", "amd64": "x86_64",
                    "aarch64": "aarch64", "arm64": "aarch64"}.get(machine)
    if architecture is None:
        raise GuardFailed(f"{machine} not supported, must be either 'x64' or 'arm64'")
    return f"bin/{system}/{architecture}"


@dataclass(frozen=True)
class GuardPackage:
    """The plugin's package unpacked on disk: this machine's guard binary and the rules."""

    root: Path

    @property
    def binary(self) -> Path:
        return self.root / _binary_folder() / "cfn-guard"

    def rule_files(self) -> dict[str, Path]:
        """Each Control Tower rule (file name without ``.guard``) -> its file."""
        folder = self.root / CONTROL_TOWER_RULES
        return {path.stem: path for path in sorted(folder.rglob("*.guard"))}


@functools.cache
def unpacked_package() -> GuardPackage:
    """The bundle's rules and this machine's binary, unpacked once per process into a
    temporary folder removed at exit (0.5 s: the same read of the archive the rule index
    needs anyway)."""
    binary = _binary_folder()
    scratch = Path(tempfile.mkdtemp(prefix="cfn-guard-"))
    atexit.register(shutil.rmtree, scratch, ignore_errors=True)
    wanted = (f"package/{binary}/", f"package/{CONTROL_TOWER_RULES}/")
    with cfnguard_bundle().open("rb") as raw, tarfile.open(fileobj=raw, mode="r:gz") as archive:
        members = [member for member in archive if member.name.startswith(wanted)]
        archive.extractall(scratch, members=members, filter="tar")
    package = GuardPackage(scratch / "package")
    if not package.binary.is_file():
        raise GuardFailed(f"the plugin's bundle holds no cfn-guard binary at {binary}")
    return package


@dataclass(frozen=True)
class GuardReport:
    """What the plugin's ``execGuard`` returns for one guard run: ``violations`` hold
    ``PolicyViolationBeta1``'s fields, camelCase, as the plugin builds them."""

    success: bool
    violations: list[dict[str, Any]]


@dataclass(frozen=True)
class GuardJob:
    """One guard run: ``rules`` on ``data`` (default: ``template`` itself), its findings
    reported against ``template``."""

    template: str
    rules: Sequence[Path]
    data: str | None = None

    @property
    def reads(self) -> str:
        return self.data or self.template


def run_in_parallel(jobs: Sequence[GuardJob], *, workers: int | None = None) -> list[GuardReport]:
    """Run each of ``jobs``, ``workers`` at a time (default: one per core), and return
    their reports in ``jobs``' order.

    A thread per job is enough: each one waits on its guard process, and the port's Python
    work on guard's output is a small share of guard's own time. The costliest jobs start
    first (data bytes times rule files, which is what guard's time grows with), so the
    largest does not start last and leave the other cores idle while it runs.
    """
    if not jobs:
        return []
    package = unpacked_package()
    count = max(1, min(workers or _usable_cores(), len(jobs)))
    costliest_first = sorted(range(len(jobs)),
                             key=lambda i: -os.path.getsize(jobs[i].reads) * len(jobs[i].rules))
    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = {i: pool.submit(violations_of, package, jobs[i]) for i in costliest_first}
        return [futures[i].result() for i in range(len(jobs))]


def _usable_cores() -> int:
    """The cores this process may run on (a container's CPU set, not the host's count)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def violations_of(package: GuardPackage, job: GuardJob) -> GuardReport:
    """Guard's report of ``job``, as the plugin's would be on ``job.template``."""
    output = guard_output(package, job)
    if job.data and isinstance(output, list):
        # Each result names the file guard read, as its canonical path: name the template,
        # as guard would have named it.
        read, template = os.path.realpath(job.data), os.path.realpath(job.template)
        for result in output:
            if isinstance(result, dict) and result.get("name") == read:
                result["name"] = template
    try:
        return violations_from_output(output)
    except (TypeError, KeyError, IndexError, AttributeError) as error:
        raise GuardFailed(
            f"cfn-guard's results for {job.template} are not in a shape the plugin can read "
            f"({type(error).__name__}: {error}); the plugin fails the synth on the same output"
        ) from error


#: A guard process's own cost (start-up and a rule file parsed: 19.5 ms for one rule on an
#: empty template), in units of one rule file evaluated on one resource (0.48 ms: 80 rules
#: on the 219 resources of the zero-ETL template took 8.46 s). Measured on the 2-core
#: development machine (benchmarks/_guard.py); only the ratio matters.
_PROCESS_COST = 40


def split_by_rule_types(
    template: str, rules: Sequence[tuple[Path, frozenset[str]]], scratch: Path,
) -> list[GuardJob]:
    """Jobs that run ``rules`` (each with the resource types it names) on ``template`` with
    the findings guard would give on the whole template, each reading only what its rules
    can look at.

    guard's time on a template grows with the template times the rule files: it walks the
    whole document for every file. A Control Tower rule looks only at resources of the
    types it names (``Resources.*[ Type == ... ]``), and at resources those reference, by
    key (``%doc.Resources[ keys == %resource_key ]`` of a ``Ref``'s or ``Fn::GetAtt``'s
    target); ``tests/constructs/test_cfn_guard_port.py`` checks every bundled rule reads
    resources in no other way. So a run of consecutive rule files reads a copy of the
    template with every section but ``Resources`` as it is, and of the resources only those
    of its rules' types and all they reference, directly or not (``Ref``, ``Fn::GetAtt``,
    ``Fn::Sub``, ``DependsOn``). Runs are consecutive, so that the jobs' findings,
    concatenated, come in the plugin's order (guard reports rules in the order it is given
    them); a run grows while one process on the union costs less than two
    (:data:`_PROCESS_COST`). A rule naming no type reads the whole template.
    """
    with open(template) as source:
        document = json.load(source)
    resources = document.get("Resources")
    if not isinstance(resources, dict):
        return [GuardJob(template, [rule for rule, _ in rules])] if rules else []
    runs: list[tuple[list[Path], set[str] | None]] = []  # None: the whole template
    for rule, types in rules:
        kept = _with_references(resources, {key for key, resource in resources.items()
                                            if isinstance(resource, dict)
                                            and resource.get("Type") in types}) if types else None
        previous_rules, previous = runs[-1] if runs else ([], None)
        if kept is not None and previous is not None:
            union = previous | kept
            apart = len(previous_rules) * len(previous) + len(kept) + 2 * _PROCESS_COST
            if (len(previous_rules) + 1) * len(union) + _PROCESS_COST <= apart:
                runs[-1] = ([*previous_rules, rule], union)
                continue
        runs.append(([rule], kept))
    jobs = []
    folder: Path | None = None
    for index, (group, kept) in enumerate(runs):
        if kept is None:
            jobs.append(GuardJob(template, group))
            continue
        part = {**document, "Resources": {key: value for key, value in resources.items()
                                          if key in kept}}
        if folder is None:
            folder = Path(tempfile.mkdtemp(prefix=f"{Path(template).stem}-", dir=scratch))
        data = folder / f"part{index}.json"
        data.write_text(json.dumps(part))
        jobs.append(GuardJob(template, group, str(data)))
    return jobs


_SUB_NAME = re.compile(r"\$\{(?!!)([^}.]+)")


def _with_references(resources: dict[str, Any], keys: set[str]) -> set[str]:
    """``keys`` and every resource they reference, directly or through others."""
    kept, pending = set(), list(keys)
    while pending:
        key = pending.pop()
        if key in kept:
            continue
        kept.add(key)
        pending.extend(name for name in _referenced(resources[key]) if name in resources)
    return kept


def _referenced(node: Any) -> set[str]:
    """The logical ids ``node`` names in ``Ref``, ``Fn::GetAtt``, ``Fn::Sub`` and
    ``DependsOn``."""
    found: set[str] = set()
    stack = [node]
    while stack:
        value = stack.pop()
        if isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, dict):
            for key, item in value.items():
                if key == "Ref" and isinstance(item, str):
                    found.add(item)
                elif key == "Fn::GetAtt":
                    target = item[0] if isinstance(item, list) and item else item
                    if isinstance(target, str):
                        found.add(target.split(".", 1)[0])
                elif key == "Fn::Sub":
                    text = item[0] if isinstance(item, list) and item else item
                    if isinstance(text, str):
                        found.update(_SUB_NAME.findall(text))
                elif key == "DependsOn":
                    found.update([item] if isinstance(item, str) else
                                 [name for name in item if isinstance(name, str)]
                                 if isinstance(item, list) else [])
                stack.append(item)
    return found


def guard_command(package: GuardPackage, rules: Sequence[Path], data: str) -> list[str]:
    """The plugin's command line (``execGuard``): ``rules`` on ``data``, JSON out."""
    return [str(package.binary), "validate",
            *(arg for rule in rules for arg in ("--rules", str(rule))),
            "--data", data, *OUTPUT_FLAGS]


def guard_output(package: GuardPackage, job: GuardJob) -> Any:
    """guard's parsed JSON output for ``job``, run with the plugin's command line; errors
    name the template (and the part of it guard read)."""
    rules, template = job.rules, job.template
    if job.data:
        template = f"{job.template} (the part in {job.data})"
    if not rules:  # the plugin always passes rules; with none guard has nothing to run
        return []
    proc = subprocess.run(guard_command(package, rules, job.reads), stdin=subprocess.DEVNULL,
                          capture_output=True, check=False)
    if proc.returncode not in (0, *_VIOLATIONS_FOUND):
        status = (f"status {proc.returncode}" if proc.returncode > 0
                  else f"signal {-proc.returncode}")
        raise GuardFailed(f"cfn-guard exited with {status} on {template}: "
                          f"{proc.stderr.decode(errors='replace').strip()}")
    text = proc.stdout.decode("utf-8").strip()
    if not text:
        return {}
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise GuardFailed(f"cfn-guard's output on {template} is not JSON: {error}") from error


# --- The plugin's result handling, ported -----------------------------------------------------
# The plugin parses guard's output with a JSON.parse reviver that pulls the few fields it
# uses up out of guard's rule-shaped nesting, then builds one violation per rule and fix.
# Each function below is the JavaScript one of the same name; `_UNDEFINED` is JavaScript's
# `undefined`, which the reviver creates and tests apart from `null` (`'from' in x`).


class _Undefined:
    __slots__ = ()

    def __repr__(self) -> str:
        return "undefined"


_UNDEFINED: Any = _Undefined()
#: The characters JavaScript's ``String.prototype.trim`` removes.
_JS_WHITESPACE = ("\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
                  "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff")
_ARRAY_INDEX = re.compile(r"0|[1-9][0-9]*")
_FIX_MARKER = re.compile(r"^\[FIX\]:[" + re.escape(_JS_WHITESPACE) + r"]*")


def _nullish(value: Any) -> bool:
    return value is None or value is _UNDEFINED


def _coalesce(value: Any, otherwise: Callable[[], Any]) -> Any:
    """``value ?? otherwise()``: the right side is evaluated only when needed."""
    return otherwise() if _nullish(value) else value


def _truthy(value: Any) -> bool:
    if _nullish(value) or value is False or value == "":
        return False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value == value and value != 0  # NaN and 0 are falsy
    return True


def _key_order(obj: dict[str, Any]) -> list[str]:
    """A JavaScript object's key order: array-index keys ascending, then insertion order."""
    indexes = sorted((key for key in obj if _ARRAY_INDEX.fullmatch(key) and int(key) < 2**32 - 1),
                     key=int)
    return indexes + [key for key in obj if key not in set(indexes)]


def _get(obj: Any, key: str) -> Any:
    """``obj.key``: a TypeError on ``null``/``undefined``, ``undefined`` when absent."""
    if _nullish(obj):
        raise TypeError(f"Cannot read properties of {'null' if obj is None else 'undefined'} "
                        f"(reading '{key}')")
    if isinstance(obj, dict):
        return obj.get(key, _UNDEFINED)
    if isinstance(obj, (list, str)) and key == "length":
        return len(obj)
    return _UNDEFINED


def _optional_get(obj: Any, key: str) -> Any:
    """``obj?.key``."""
    return _UNDEFINED if _nullish(obj) else _get(obj, key)


def _values(obj: Any) -> list[Any]:
    """``Object.values(obj)``."""
    if _nullish(obj):
        raise TypeError("Cannot convert undefined or null to object")
    if isinstance(obj, dict):
        return [obj[key] for key in _key_order(obj)]
    if isinstance(obj, (list, str)):
        return list(obj)
    return []


def _keys(obj: Any) -> list[str]:
    """``Object.keys(obj)``."""
    if _nullish(obj):
        raise TypeError("Cannot convert undefined or null to object")
    if isinstance(obj, dict):
        return _key_order(obj)
    if isinstance(obj, (list, str)):
        return [str(index) for index in range(len(obj))]
    return []


def _entries(obj: dict[str, Any]) -> list[tuple[str, Any]]:
    return [(key, obj[key]) for key in _key_order(obj)]


def _has(obj: Any, key: str) -> bool:
    """``key in obj``: a TypeError unless ``obj`` is an object."""
    if isinstance(obj, dict):
        return key in obj
    if isinstance(obj, list):
        return key == "length" or (bool(_ARRAY_INDEX.fullmatch(key)) and int(key) < len(obj))
    raise TypeError(f"Cannot use 'in' operator to search for '{key}' in {obj!r}")


def _spread(obj: Any) -> dict[str, Any]:
    """``{...obj}``."""
    if isinstance(obj, dict):
        return {key: obj[key] for key in _key_order(obj)}
    if isinstance(obj, (list, str)):
        return {str(index): item for index, item in enumerate(obj)}
    return {}


def _is_plain_object(value: Any) -> bool:
    """``value !== null && typeof value === 'object' && !Array.isArray(value)``."""
    return isinstance(value, dict)


def _has_own_checks(value: Any) -> bool:
    """``typeof value === 'object' && value.hasOwnProperty('checks')`` (throws on null)."""
    if value is None:
        raise TypeError("Cannot read properties of null (reading 'hasOwnProperty')")
    return isinstance(value, dict) and "checks" in value


def _parse_with_reviver(document: Any) -> Any:
    """``JSON.parse(JSON.stringify(document), reviver)``: the reviver is applied bottom up,
    each object's properties in JavaScript key order, and last to the whole document."""

    def internalize(key: str, value: Any) -> Any:
        if isinstance(value, list):
            value = [internalize(str(index), item) for index, item in enumerate(value)]
        elif isinstance(value, dict):
            value = {name: internalize(name, value[name]) for name in _key_order(value)}
        return _reviver(key, value)

    return internalize("", document)


def _reviver(key: str, value: Any) -> Any:
    if key == "not_compliant":
        return [_get(item, "Rule") for item in _values(value)]
    if _is_plain_object(value):
        return _extract_nested_object(value)
    if key == "checks" and isinstance(value, list):
        return _extract_nested_checks([leaf for item in value for leaf in _flat(item)])
    return value


def _flat(item: Any) -> list[Any]:
    """One level of ``Array.prototype.flatMap(v => v)``."""
    return list(item) if isinstance(item, list) else [item]


def _extract_nested_checks(checks: list[Any]) -> list[Any]:
    contains_nested = any(
        any(_has_own_checks(value) for value in _values(check) if _is_object_type(value))
        for check in checks
    )
    if contains_nested:
        result: list[Any] = []
        for check in checks:
            if "traversed" in _keys(check):
                result.append(check)
                continue
            for check_value in _values(check):
                inner = _get(check_value, "checks")
                for nested in _values(check_value if _nullish(inner) else inner):
                    merged = _spread(nested)
                    merged["name"] = _get(check_value, "name")
                    messages = _get(check_value, "messages")
                    if _nullish(messages):
                        messages = _get(nested, "messages")
                    merged["messages"] = messages
                    result.append(merged)
        return result
    flat: list[Any] = []
    for check in checks:
        if "traversed" in _keys(check):
            flat.append(check)
        else:
            flat.extend(_values(check))
    return flat


def _is_object_type(value: Any) -> bool:
    """``typeof value === 'object'`` (true for ``null`` and arrays)."""
    return value is None or isinstance(value, (dict, list))


def _extract_nested_object(obj: dict[str, Any]) -> Any:
    new_object: Any = obj
    for level1_key, nested in _entries(obj):
        lowered = level1_key.lower()
        if lowered == "traversed_to":
            from_ = _get(nested, "from")
            new_object = {
                "traversed": {
                    "to": {"path": _get(nested, "path"), "value": _get(nested, "value")},
                    "from": ({"path": _get(from_, "path"), "value": _UNDEFINED}
                             if _truthy(from_) else _UNDEFINED),
                },
                "messages": _get(nested, "messages"),
            }
        elif lowered == "unresolved":
            new_object = {
                "resolved": False,
                "traversed": _get(nested, "traversed"),
                "messages": _coalesce(_get(nested, "messages"), lambda: _get(obj, "messages")),
            }
        elif lowered in ("resolved", "inresolved"):
            if _has(nested, "from"):
                new_object = {
                    "resolved": True,
                    "traversed": {
                        "from": _get(nested, "from"),
                        "to": {"path": _get(_get(nested, "from"), "path"),
                               "value": _get(_get(nested, "to"), "value")},
                    },
                    "messages": _get(nested, "messages"),
                }
            elif _has(nested, "value"):
                value = _get(nested, "value")
                new_object = {
                    "resolved": True,
                    "traversed": {
                        "from": value,
                        "to": {"path": _get(value, "path"), "value": _get(value, "value")},
                    },
                    "messages": _get(nested, "messages"),
                }
        if _is_plain_object(nested):
            for level2_key, level2_value in _entries(nested):
                if level2_key.lower() == "traversed":
                    messages = _get(nested, "messages")
                    if _nullish(messages):
                        messages = _get(level2_value, "messages")
                    if _nullish(messages):
                        messages = _get(obj, "messages")
                    new_object = {
                        "traversed": _get(nested, "traversed"),
                        "resolved": _get(nested, "resolved"),
                        "messages": messages,
                    }
    return new_object


def violations_from_output(output: Any) -> GuardReport:
    """The plugin's report of guard's parsed ``output`` (``execGuard``'s loop): not a
    success as soon as one result holds a non-compliant rule, even one that yields no
    violation (CDK then fails the synth with the plugin's report)."""
    results = _parse_with_reviver(output)
    if isinstance(results, str):  # for...of a string walks its characters: no results
        return GuardReport(success=True, violations=[])
    if not isinstance(results, list):
        raise TypeError("guardResults is not iterable")
    success = True
    violations: list[dict[str, Any]] = []
    for result in results:
        not_compliant = _get(result, "not_compliant")
        if not _truthy(not_compliant) or _get(not_compliant, "length") == 0:
            continue
        success = False
        for rule_check in _iterate(not_compliant):
            violations.extend(_ViolationCheck(rule_check, _get(result, "name")).process_check())
    return GuardReport(success=success, violations=violations)


class _ViolationCheck:
    """``lib/check.js``: one violation per fix of a rule, each naming its resources."""

    def __init__(self, rule_check: Any, template_path: Any) -> None:
        self.rule_check = rule_check
        self.template_path = template_path
        self.description: Any = _UNDEFINED
        self.fix: Any = _UNDEFINED
        # fix -> (description, {resource name -> locations}), both in insertion order.
        self.by_fix: dict[Any, tuple[Any, dict[Any, list[Any]]]] = {}

    def set_violating_resources(self, check: Any) -> None:
        messages = _get(check, "messages")
        if not _truthy(self.description):
            custom = _optional_get(messages, "custom_message")
            self.description = (custom if _truthy(custom)
                                else _optional_get(messages, "error_message"))
        self.fix = _coalesce(self.fix, lambda: _coalesce(
            _optional_get(messages, "custom_message"), lambda: "N/A"))
        location = _get(_get(_get(check, "traversed"), "to"), "path")
        if not isinstance(location, str):
            raise TypeError(f"location.split is not a function (path {location!r})")
        parts = location.split("/")
        resource_name = parts[2] if len(parts) > 2 else _UNDEFINED
        if self.fix in self.by_fix:
            self.by_fix[self.fix][1].setdefault(resource_name, []).append(location)
        else:
            self.by_fix[self.fix] = (_coalesce(self.description, lambda: ""),
                                     {resource_name: [location]})

    def process_check(self) -> list[dict[str, Any]]:
        for check in _iterate(_get(self.rule_check, "checks")):
            custom = _optional_get(_get(check, "messages"), "custom_message")
            if _truthy(custom):
                if not isinstance(custom, str):
                    raise TypeError("check.messages.custom_message.split is not a function")
                for line in custom.split("\n"):
                    message = line.strip(_JS_WHITESPACE)
                    if not message:
                        continue
                    if message.startswith("[FIX]"):
                        self.fix = _FIX_MARKER.sub("", message, count=1)
                    else:
                        self.description = message
            self.set_violating_resources(check)
        return [
            {
                "description": description,
                "fix": fix,
                "ruleMetadata": {"DocumentationUrl": RULE_DOC_URL},
                "ruleName": _get(self.rule_check, "name"),
                "violatingResources": [
                    {"locations": locations, "resourceLogicalId": name,
                     "templatePath": self.template_path}
                    for name, locations in resources.items()
                ],
            }
            for fix, (description, resources) in self.by_fix.items()
        ]


def _iterate(checks: Any) -> Iterable[Any]:
    """``checks.forEach``: a TypeError unless ``checks`` is an array."""
    if not isinstance(checks, list):
        raise TypeError(f"ruleCheck.checks.forEach is not a function ({checks!r})")
    return checks


def policy_violations(report: GuardReport) -> list[PolicyViolationBeta1]:
    """``report``'s violations as CDK's ``PolicyViolationBeta1``: every field a string, as
    jsii demands when the plugin hands its report to CDK (where a missing rule name or
    resource id fails the synth: ``A value is required``), so here too."""
    violations = []
    for violation in report.violations:
        fields = [violation["description"], violation["fix"], violation["ruleName"]]
        for resource in violation["violatingResources"]:
            fields += [resource["resourceLogicalId"], resource["templatePath"],
                       *resource["locations"]]
        if not all(isinstance(field, str) for field in fields):
            raise GuardFailed(
                f"cfn-guard reported a violation the plugin cannot hand to CDK (a value is "
                f"required, type is non-optional): {json.dumps(violation, default=repr)}")
        violations.append(PolicyViolationBeta1(
            description=violation["description"],
            fix=violation["fix"],
            rule_name=violation["ruleName"],
            rule_metadata=dict(violation["ruleMetadata"]),
            violating_resources=[
                PolicyViolatingResourceBeta1(
                    locations=list(resource["locations"]),
                    resource_logical_id=resource["resourceLogicalId"],
                    template_path=resource["templatePath"],
                )
                for resource in violation["violatingResources"]
            ],
        ))
    return violations
