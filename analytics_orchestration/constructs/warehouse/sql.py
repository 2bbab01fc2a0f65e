"""Building Redshift SQL from prop values: identifiers quoted, literals escaped.

SQL the library generates names tables, schemas and databases that come from props. Each
such name is validated (:func:`identifier_problem`) and written as a *delimited*
identifier (``"name"``), so a name that is a reserved word, has upper-case letters (with
``enable_case_sensitive_identifier``) or contains a quote can neither break the statement
nor inject another one. Redshift's rules (Names and identifiers, Amazon Redshift Database
Developer Guide): at most 127 bytes in UTF-8, no control characters; inside a delimited
identifier a double quote is written twice.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["identifier_problem", "qualified_name", "quote_identifier", "quote_literal"]

#: Redshift's limit on an identifier, in bytes of UTF-8.
MAX_IDENTIFIER_BYTES = 127


def identifier_problem(name: object) -> str | None:
    """Why ``name`` cannot be a Redshift identifier, or None when it can."""
    if not isinstance(name, str):
        return "must be a string"
    if not name.strip():
        return "must not be empty or blank"
    if len(name.encode()) > MAX_IDENTIFIER_BYTES:
        return f"must be at most {MAX_IDENTIFIER_BYTES} bytes in UTF-8"
    if any(ord(character) < 32 or ord(character) == 127 for character in name):
        return "must not contain control characters"
    return None


def quote_identifier(name: str) -> str:
    """``name`` as a delimited identifier; ValueError when it cannot be one."""
    problem = identifier_problem(name)
    if problem is not None:
        raise ValueError(f"Redshift identifier {name!r} {problem}")
    return '"' + name.replace('"', '""') + '"'


def qualified_name(*parts: str) -> str:
    """``schema.table`` (or ``database.schema.table``), each part quoted."""
    if not parts:
        raise ValueError("qualified_name needs at least one part")
    return ".".join(quote_identifier(part) for part in parts)


def quote_literal(value: str) -> str:
    """``value`` as a string literal: single quotes doubled, backslashes escaped."""
    if not isinstance(value, str):
        raise ValueError(f"a SQL string literal must be a string, got {value!r}")
    if "\x00" in value:
        raise ValueError("a SQL string literal must not contain NUL")
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def column_list(columns: Sequence[str]) -> str:
    """``("a", "b")``: quoted column names, comma-separated, in parentheses."""
    return "(" + ", ".join(quote_identifier(column) for column in columns) + ")"
