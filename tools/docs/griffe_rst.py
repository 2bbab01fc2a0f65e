"""A griffe extension: the library's reST docstring idioms, rendered as Markdown.

The docstrings are written for ``help()`` and Sphinx-style tools: ``:param x:`` fields
(griffe's ``sphinx`` style parses those), cross-reference roles (``:class:`~a.b.C```) and
``::`` literal-block markers. mkdocstrings renders docstrings as Markdown, where a role
shows as ``:class:`` followed by a code span and a ``::`` stays on the page. This extension
translates the two idioms once, for every docstring the site renders, so the docstrings stay
the one source (nothing is copied into the site):

- ``:role:`~pkg.mod.Name``` becomes a code span of ``Name``, ``:role:`pkg.mod.Name``` one of
  ``pkg.mod.Name`` (any role: ``class``, ``func``, ``meth``, ``data``, ``attr``, ``mod``, ...);
- a paragraph ending in ``::`` ends in ``:`` (the indented block after it is a Markdown code
  block already), and a paragraph that is only ``::`` disappears.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?[a-z]+:`(?P<tilde>~?)(?P<target>[^`]+)`")
_LITERAL_MARKER = re.compile(r"(?m)(?<=\S)::$")
_BARE_MARKER = re.compile(r"(?m)^[ \t]*::[ \t]*\n")


def markdown(text: str) -> str:
    """``text`` with its reST roles and literal-block markers in Markdown."""

    def role(match: re.Match[str]) -> str:
        target = match.group("target")
        if match.group("tilde"):
            target = target.rsplit(".", 1)[-1]
        return f"`{target}`"

    text = _ROLE.sub(role, text)
    text = _BARE_MARKER.sub("", text)
    return _LITERAL_MARKER.sub(":", text)


class RestToMarkdown(griffe.Extension):
    """Rewrite every docstring of a loaded package (see the module docstring)."""

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader,
                   **kwargs: Any) -> None:
        self._rewrite(pkg, set())

    def _rewrite(self, obj: griffe.Object | griffe.Alias, seen: set[str]) -> None:
        if obj.is_alias or obj.path in seen:
            return
        seen.add(obj.path)
        if obj.docstring is not None:
            obj.docstring.value = markdown(obj.docstring.value)
        for member in obj.members.values():
            self._rewrite(member, seen)
