"""The README's diagram is what the library draws today from the README's own example."""

from __future__ import annotations

from tools.docs import readme_diagram


def test_the_committed_readme_diagram_is_up_to_date():
    drawn = readme_diagram.draw()
    assert readme_diagram.DIAGRAM.is_file(), "python -m tools.docs.readme_diagram"
    assert readme_diagram.DIAGRAM.read_text() == drawn, (
        "docs/assets/ingestion.svg is out of date: python -m tools.docs.readme_diagram")
    assert "<svg" in drawn and "LandingBucket" in drawn  # the pattern's resources are drawn


def test_the_readme_shows_it():
    text = readme_diagram.README.read_text()
    assert f"]({readme_diagram.DIAGRAM.relative_to(readme_diagram.ROOT).as_posix()})" in text
