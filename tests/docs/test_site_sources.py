"""The documentation site's sources: every pattern and stack has its page, and what the
generator reads from the code and the synthesized app is there.

The build itself (``mkdocs build --strict``) and the browser check run in ``make docs`` and
``make docs-check`` (``.ci/run``): they need the ``docs`` extra and Chromium, which
``make test`` does not.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.support import REPOSITORY_ROOT
from tools.docs import check_site, generate
from tools.docs.catalog import PATTERNS, Pattern

DOCS = REPOSITORY_ROOT / "docs"


def _nav_pages() -> list[str]:
    text = (REPOSITORY_ROOT / "mkdocs.yml").read_text()
    nav = text[text.index("\nnav:"):]
    return re.findall(r"^\s+- (?:[^:\n]+: )?(\S+\.md)$", nav, re.MULTILINE)


def test_every_page_is_in_the_nav_and_every_nav_entry_exists():
    pages = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")
                   if "generated" not in p.relative_to(DOCS).parts)
    assert sorted(_nav_pages()) == pages


def test_every_pattern_has_its_page():
    for pattern in PATTERNS:
        page = DOCS / "patterns" / f"{pattern.slug}.md"
        assert page.is_file(), pattern.slug
        text = page.read_text()
        for snippet in ("defaults", "extension-points", "events"):
            assert f'--8<-- "{snippet}-{pattern.slug}.md"' in text, (pattern.slug, snippet)
        if pattern.instances:
            assert f'--8<-- "creates-{pattern.slug}.md"' in text, pattern.slug


def test_every_stack_of_the_example_app_has_its_page(cloud_assembly: Any):
    stacks = generate.stacks_of(Path(cloud_assembly.directory))  # what make docs reads
    assert len(stacks) >= 10
    for stack in stacks:
        page = DOCS / "stacks" / f"{stack.name}.md"
        assert page.is_file(), stack.name
        text = page.read_text()
        assert f'--8<-- "diagrams-{stack.name}.md"' in text
        assert f'--8<-- "resources-{stack.name}.md"' in text


def test_every_instance_named_by_the_catalog_is_in_the_app(example_app: Any):
    """The catalog names constructs of the app that create resources (the generator finds
    them in ``cdk synth``'s output by their ``aws:cdk:path``, which only the CLI records)."""
    from aws_cdk import CfnResource

    app, _ = example_app
    for pattern in PATTERNS:
        for stack_name, construct_id in pattern.instances:
            stack = app.node.try_find_child(stack_name)
            assert stack is not None, (pattern.slug, stack_name)
            construct = stack.node.try_find_child(construct_id)
            assert construct is not None, (pattern.slug, stack_name, construct_id)
            assert any(isinstance(c, CfnResource) for c in construct.node.find_all())


def _stack(resources: dict[str, tuple[str, str]]) -> generate.SynthesizedStack:
    return generate.SynthesizedStack("Demo", {"Resources": {
        logical_id: {"Type": kind, "Metadata": {"aws:cdk:path": f"Demo/{path}"}}
        for logical_id, (kind, path) in resources.items()}})


def test_instances_are_the_resources_under_the_construct():
    stack = _stack({
        "Bucket1": ("AWS::S3::Bucket", "Ingestion/LandingBucket/Resource"),
        "Queue1": ("AWS::SQS::Queue", "Ingestion/Dlq/Resource"),
        "Queue2": ("AWS::SQS::Queue", "Ingestion/Other/Resource"),
        "Other1": ("AWS::SQS::Queue", "IngestionTwo/Resource"),  # a sibling, not under it
        "CDKMetadata": ("AWS::CDK::Metadata", "Ingestion/CDKMetadata/Default"),
    })
    pattern = Pattern("demo", "Demo", (), (), (("Demo", "Ingestion"),))
    [(_, _, rows)] = generate.pattern_instances(pattern, {"Demo": stack})
    assert rows == [("`AWS::S3::Bucket`", "1"), ("`AWS::SQS::Queue`", "2")]
    missing = Pattern("demo", "Demo", (), (), (("Demo", "Nothing"),))
    with pytest.raises(SystemExit, match="no resource under Demo/Nothing"):
        generate.pattern_instances(missing, {"Demo": stack})


def test_workflow_images_are_captioned_with_their_state_machine(tmp_path: Path):
    stack = _stack({"EtlMachine1": ("AWS::StepFunctions::StateMachine",
                                    "SalesEtl/StateMachine/Resource"),
                    "Bucket1": ("AWS::S3::Bucket", "Data/Resource")})
    (tmp_path / "Demo.svg").write_text("<svg/>")
    (tmp_path / "Demo.EtlMachine1.svg").write_text("<svg/>")
    snippet = generate.diagrams_snippet(stack, tmp_path)
    assert "#### `SalesEtl/StateMachine`" in snippet
    assert "(../generated/diagrams/Demo.EtlMachine1.svg)" in snippet
    (tmp_path / "Demo.Bucket1.svg").write_text("<svg/>")  # not a state machine
    with pytest.raises(SystemExit, match="no state machine Bucket1"):
        generate.diagrams_snippet(stack, tmp_path)
    (tmp_path / "Demo.svg").unlink()
    with pytest.raises(SystemExit, match=r"no Demo\.svg"):
        generate.architecture_image("Demo", tmp_path)


def test_readme_sections_the_site_includes_exist():
    readme = (REPOSITORY_ROOT / "README.md").read_text()
    included = set()
    for page in DOCS.rglob("*.md"):
        included |= set(re.findall(r'--8<-- "README\.md:([\w-]+)"', page.read_text()))
    assert included
    for section in included:
        assert readme.count(f"<!-- --8<-- [start:{section}] -->") == 1, section
        assert readme.count(f"<!-- --8<-- [end:{section}] -->") == 1, section
        assert readme.index(f"[start:{section}]") < readme.index(f"[end:{section}]")


def test_documented_constants_are_read_with_their_comment():
    constants = {c.name: c for c in generate.documented_constants(
        "analytics_orchestration.constructs.ingestion")}
    from analytics_orchestration.constructs import ingestion

    size = constants["DEFAULT_MAX_OBJECT_SIZE_BYTES"]
    assert eval(size.value) == ingestion.DEFAULT_MAX_OBJECT_SIZE_BYTES  # the code's value
    assert "largest single PUT" in size.comment
    assert "DEFAULT_QUARANTINE_PREFIX" not in constants  # no comment, nothing to say why
    table = generate.defaults_snippet(PATTERNS[0])
    assert "`DEFAULT_RECONCILIATION_RATE`" in table and "Duration.hours(1)" in table


def test_extension_points_are_the_methods_of_the_section():
    points = set(generate.extension_points("analytics_orchestration.constructs.ingestion"))
    assert points == {("EventDrivenIngestion", "_object_created_pattern"),
                      ("EventDrivenIngestion", "_validation_rules")}
    snippet = generate.extension_points_snippet(PATTERNS[0])
    assert ("::: analytics_orchestration.constructs.ingestion.EventDrivenIngestion."
            "_object_created_pattern") in snippet


def test_events_come_from_the_catalog():
    from analytics_orchestration.event_catalog import LIBRARY_EVENTS

    table = generate.all_events_snippet()
    for event in LIBRARY_EVENTS:
        assert f"`{event.detail_type}`" in table
    emitted = [name for pattern in PATTERNS for name in pattern.events]
    assert len(emitted) == len(set(emitted)) == len(LIBRARY_EVENTS)


@pytest.mark.parametrize(("media", "problem"), [
    ({"complete": True, "naturalWidth": 300, "naturalHeight": 200, "width": 300,
      "height": 200}, False),
    ({"complete": True, "naturalWidth": 0, "naturalHeight": 0, "width": 0, "height": 0},
     True),  # a broken image
    ({"complete": False, "naturalWidth": 0, "naturalHeight": 0, "width": 16, "height": 16},
     True),  # still loading when the page settled
    ({"complete": True, "naturalWidth": 300, "naturalHeight": 200, "width": 0, "height": 0},
     True),  # loaded, not displayed
])
def test_the_browser_check_judges_media(media: dict[str, Any], problem: bool):
    media = {"kind": "img", "src": "x.svg", **media}
    assert bool(check_site.media_problems([media])) is problem


def test_the_browser_check_expects_diagrams_where_pages_show_them():
    assert check_site.expects_diagram("patterns/ingestion.html")
    assert check_site.expects_diagram("stacks/AnalyticsIngestion.html")
    assert not check_site.expects_diagram("patterns/building-blocks.html")
    assert not check_site.expects_diagram("stacks/index.html")
    assert not check_site.expects_diagram("migration.html")


def test_every_building_block_is_rendered():
    """Each name of ``building_blocks.__all__`` is a documented def/class of the module or a
    wrapped foundation builder the site renders by its own docstring."""
    import ast
    import importlib

    from analytics_orchestration import building_blocks

    tree = ast.parse(Path(building_blocks.__file__).read_text())
    defined = {node.name for node in tree.body
               if isinstance(node, ast.FunctionDef | ast.ClassDef)}
    imported = {alias.asname or alias.name for node in tree.body
                if isinstance(node, ast.ImportFrom) for alias in node.names}
    wrapped = dict(generate.wrapped_builders())
    assert "secure_bucket" in wrapped and "queue_with_dead_letter_queue" in wrapped
    for name in building_blocks.__all__:
        assert name in defined | imported | set(wrapped), name
    for path in wrapped.values():
        module, _, function = path.rpartition(".")
        assert getattr(importlib.import_module(module), function).__doc__, path
