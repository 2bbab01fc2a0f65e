"""API Gateway's mapping-template language: Velocity (VTL) with ``$input``, ``$util`` and
``$context``, as the API Gateway developer guide documents them ("Variables for data
transformations for API Gateway", api-gateway-mapping-template-reference; examples in
api-gateway-mapping-variable-examples).

The template language itself is evaluated by ``airspeed`` (a Python implementation of
Apache Velocity, which API Gateway runs); this module supplies the variables:

``$input``
    ``body`` (the raw payload as a string), ``json(path)`` (the JSON text at a JSONPath),
    ``path(path)`` (the value at a JSONPath: maps, lists, strings, numbers), ``params()`` (a
    map ``path`` / ``querystring`` / ``header`` -> name -> value) and ``params(name)`` (path,
    then query string, then header; ``""`` when absent), as the guide's ``$input`` table.
``$util``
    ``escapeJavaScript`` (Java's ``StringEscapeUtils.escapeJavaScript``: ``'`` becomes ``\\'``,
    which the guide warns is not valid JSON), ``parseJson``, ``urlEncode``, ``urlDecode``,
    ``base64Encode``, ``base64Decode``.
``$context``
    ``requestId``, ``extendedRequestId``, ``apiId``, ``accountId``, ``stage``, ``httpMethod``,
    ``resourcePath``, ``resourceId``, ``path``, ``protocol``, ``domainName``, ``requestTime``,
    ``requestTimeEpoch``, ``identity.*`` (``userArn``, ``caller``, ``user``, ``accountId``,
    ``sourceIp``, ``userAgent``, ``apiKey``...; ``""`` when the request has none, as API
    Gateway renders unset context variables), ``authorizer.principalId`` and
    ``responseOverride.status`` / ``responseOverride.header.<name>`` (set by a response
    template to override the method response).

Strings returned to templates are :class:`JavaString`, so the ``java.lang.String`` methods
templates call on them (``replaceAll``, ``contains``, ``length``, ``substring``...) work.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import urllib.parse
from collections.abc import Mapping
from typing import Any

from analytics_orchestration.testing.exceptions import UnsupportedIntegrationError

_JSONPATH_TOKEN = re.compile(r"\.([A-Za-z0-9_\-$@]+)|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")
_ABSENT = object()


def _java_replacement(replacement: str) -> str:
    """Java's ``$1`` group references in Python's ``\\1`` form (and ``\\$`` as ``$``)."""
    out = replacement.replace("\\", "\\\\").replace("\\\\$", "$$")
    return re.sub(r"\$(\d+)", r"\\g<\1>", out).replace("$$", "$")


class JavaString(str):
    """A ``str`` with the ``java.lang.String`` methods mapping templates call."""

    def replaceAll(self, regex: str, replacement: str) -> JavaString:
        return JavaString(re.sub(regex, _java_replacement(replacement), self))

    def replaceFirst(self, regex: str, replacement: str) -> JavaString:
        return JavaString(re.sub(regex, _java_replacement(replacement), self, count=1))

    def contains(self, other: str) -> bool:
        return str(other) in self

    def length(self) -> int:
        return len(self)

    def isEmpty(self) -> bool:
        return len(self) == 0

    def startsWith(self, prefix: str) -> bool:
        return self.startswith(str(prefix))

    def endsWith(self, suffix: str) -> bool:
        return self.endswith(str(suffix))

    def indexOf(self, other: str) -> int:
        return self.find(str(other))

    def substring(self, start: int, end: int | None = None) -> JavaString:
        return JavaString(self[int(start):] if end is None else self[int(start):int(end)])

    def toLowerCase(self) -> JavaString:
        return JavaString(self.lower())

    def toUpperCase(self) -> JavaString:
        return JavaString(self.upper())

    def trim(self) -> JavaString:
        return JavaString(self.strip())

    def matches(self, regex: str) -> bool:
        return re.fullmatch(regex, self) is not None

    def equals(self, other: Any) -> bool:
        return bool(str(self) == other)

    def equalsIgnoreCase(self, other: Any) -> bool:
        return isinstance(other, str) and self.lower() == other.lower()


class JavaMap(dict[str, Any]):
    """A ``dict`` with the ``java.util.Map`` methods templates call (``size``, ``keySet``...)."""

    def size(self) -> int:
        return len(self)

    def isEmpty(self) -> bool:
        return not self

    def keySet(self) -> list[str]:
        return list(self.keys())

    def containsKey(self, key: Any) -> bool:
        return key in self

    def put(self, key: str, value: Any) -> Any:
        previous = self.get(key)
        self[key] = value
        return previous

    def putAll(self, values: dict[str, Any]) -> None:
        self.update(values)


class JavaList(list[Any]):
    """A ``list`` with the ``java.util.List`` methods templates call (``size``, ``get``...)."""

    def size(self) -> int:
        return len(self)

    def isEmpty(self) -> bool:
        return not self

    def contains(self, value: Any) -> bool:
        return value in self

    def add(self, value: Any) -> bool:
        self.append(value)
        return True


def javaish(value: Any) -> Any:
    """Values handed to templates, with Java's methods: strings become
    :class:`JavaString`, maps :class:`JavaMap`, lists :class:`JavaList`."""
    if isinstance(value, str) and not isinstance(value, JavaString):
        return JavaString(value)
    if isinstance(value, dict):
        return JavaMap({k: javaish(v) for k, v in value.items()})
    if isinstance(value, list):
        return JavaList(javaish(v) for v in value)
    return value


def json_path(document: Any, path: str) -> Any:
    """The value at a JSONPath (``$``, ``$.a.b``, ``$['a']``, ``$.a[0]``), or None.

    Filters, wildcards and recursive descent are refused by name: a template using them
    needs support added here rather than a silently different answer.
    """
    path = str(path).strip()
    if path in ("$", ""):
        return document
    if not path.startswith("$"):
        raise UnsupportedIntegrationError("mapping template JSONPath", f"{path!r}")
    rest = path[1:]
    tokens: list[tuple[str | None, ...]] = []
    position = 0
    while position < len(rest):
        match = _JSONPATH_TOKEN.match(rest, position)
        if match is None:
            raise UnsupportedIntegrationError(
                "mapping template JSONPath", f"{path!r} (only $.name, $['name'] and [index])")
        position = match.end()
        tokens.append(match.groups())
    current = document
    for name, index, single, double in tokens:
        if index is not None:
            if not isinstance(current, list) or int(index) >= len(current):
                return None
            current = current[int(index)]
            continue
        key = name if name is not None else (single if single is not None else double)
        if not isinstance(current, dict) or key not in current:
            return None
        current = current[key]
    return current


class InputVariable:
    """``$input``: the request (or integration response) payload and parameters."""

    def __init__(self, body: str, params: Mapping[str, Mapping[str, str]]) -> None:
        self.body = JavaString(body)
        self._params = {kind: dict(params.get(kind, {}))
                        for kind in ("path", "querystring", "header")}
        self._parsed: Any = _ABSENT

    def _document(self) -> Any:
        if self._parsed is _ABSENT:
            try:
                self._parsed = json.loads(self.body) if self.body.strip() else {}
            except ValueError:
                # API Gateway fails the template on a body that is not JSON; None renders
                # the paths as empty, which a test sees as a wrong request, not a crash.
                self._parsed = None
        return self._parsed

    def path(self, expression: str) -> Any:
        return javaish(json_path(self._document(), expression))

    def json(self, expression: str) -> JavaString:
        return JavaString(json.dumps(json_path(self._document(), expression)))

    def params(self, name: str | None = None) -> Any:
        if name is None:
            return javaish(self._params)
        for kind in ("path", "querystring", "header"):
            values = self._params[kind]
            if kind == "header":
                lowered = {k.lower(): v for k, v in values.items()}
                if str(name).lower() in lowered:
                    return JavaString(lowered[str(name).lower()])
            elif name in values:
                return JavaString(values[name])
        return JavaString("")


_JS_ESCAPES = {"'": "\\'", '"': '\\"', "\\": "\\\\", "/": "\\/", "\b": "\\b", "\n": "\\n",
               "\t": "\\t", "\f": "\\f", "\r": "\\r"}


class UtilVariable:
    """``$util``: the helper functions of the mapping-template reference."""

    @staticmethod
    def escapeJavaScript(value: Any) -> JavaString:
        """Java's ``StringEscapeUtils.escapeJavaScript`` (commons-lang 2), which API Gateway
        uses: quotes, backslash and ``/`` escaped, control characters and non-ASCII as
        ``\\uXXXX``."""
        out = []
        for char in "" if value is None else str(value):
            if char in _JS_ESCAPES:
                out.append(_JS_ESCAPES[char])
            elif ord(char) < 32 or ord(char) > 0x7E:
                if ord(char) > 0xFFFF:
                    encoded = char.encode("utf-16-be")
                    out.append("".join(f"\\u{int.from_bytes(encoded[i:i + 2]):04X}"
                                       for i in (0, 2)))
                else:
                    out.append(f"\\u{ord(char):04X}")
            else:
                out.append(char)
        return JavaString("".join(out))

    @staticmethod
    def parseJson(value: Any) -> Any:
        return javaish(json.loads(str(value)))

    @staticmethod
    def urlEncode(value: Any) -> JavaString:
        """``java.net.URLEncoder.encode`` (UTF-8): spaces as ``+``, ``*-._`` kept."""
        return JavaString(urllib.parse.quote_plus("" if value is None else str(value),
                                                  safe="*-._"))

    @staticmethod
    def urlDecode(value: Any) -> JavaString:
        return JavaString(urllib.parse.unquote_plus(str(value)))

    @staticmethod
    def base64Encode(value: Any) -> JavaString:
        return JavaString(base64.b64encode(str(value).encode()).decode())

    @staticmethod
    def base64Decode(value: Any) -> JavaString:
        return JavaString(base64.b64decode(str(value)).decode())


_NO_ESCAPES = re.compile(r"(?!)")
_RENDER_LOCK = threading.Lock()


def render(template: str, *, input: InputVariable, context: dict[str, Any],
           stage_variables: Mapping[str, str] | None = None) -> str:
    """Evaluate one mapping template; ``context`` may be changed by it
    (``#set($context.responseOverride.status = 404)``).

    API Gateway runs Velocity 1.7, whose string literals take backslashes literally: the
    documented idiom ``.replaceAll("\\'","'")`` hands Java's regex ``\\'`` (a backslash and
    a quote) to undo ``escapeJavaScript``'s ``\'``. airspeed unescapes ``\\`` in literals
    (``"\\'"`` would become the regex ``\'``, a bare quote), so its literal unescaping is
    switched off while the harness renders (restored after each template).
    """
    import airspeed

    namespace: dict[str, Any] = {
        "input": input,
        "util": UtilVariable(),
        "context": context,
        "stageVariables": javaish(dict(stage_variables or {})),
    }
    literals = (airspeed.StringLiteral, airspeed.InterpolatedStringLiteral)
    with _RENDER_LOCK:
        saved = [cls.__dict__.get("ESCAPED_CHAR") for cls in literals]
        try:
            for cls in literals:
                cls.ESCAPED_CHAR = _NO_ESCAPES
            rendered: str = airspeed.Template(template).merge(namespace)
        except airspeed.TemplateError as exc:
            raise UnsupportedIntegrationError(
                "mapping template",
                f"airspeed could not evaluate it ({exc}): {template[:200]!r}") from exc
        finally:
            for cls, original in zip(literals, saved, strict=True):
                cls.ESCAPED_CHAR = original
    return rendered
