"""Validate a JSON document against the JSON Schema subset msgspec generates, collecting every
error with its field path. No I/O.

Settings forms need *all* the problems at once, each next to its field; msgspec's own decoder
stops at the first. Supported keywords: ``$ref`` (local ``#/$defs/...``), ``type``, ``enum``,
``const``, ``minimum``/``maximum`` (and the exclusive forms), ``minLength``/``maxLength``,
``pattern``, ``properties``/``required``/``additionalProperties``, ``items``,
``minItems``/``maxItems`` and ``anyOf``/``oneOf``. Unknown keywords are ignored, so the final
word stays with the model's own decoder.
"""

from __future__ import annotations

import re
from typing import Any

from clanker.dashboard.shapes import FieldError

_TYPE_NAMES = {
    "object": "an object",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


def json_type(value: Any) -> str:
    """The JSON type name of a decoded value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _type_ok(value: Any, expected: str) -> bool:
    actual = json_type(value)
    if expected == "number":
        return actual in ("integer", "number")
    if expected == "integer" and actual == "number":
        return float(value).is_integer()
    return actual == expected


def join_path(base: str, key: str | int) -> str:
    """``a.b`` / ``a[2]`` style paths; the root is the empty string."""
    if isinstance(key, int):
        return f"{base}[{key}]"
    return f"{base}.{key}" if base else key


class SchemaValidator:
    """Validates documents against one schema (with its ``$defs``)."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        self._defs: dict[str, Any] = schema.get("$defs", {})

    def errors(self, document: Any) -> list[FieldError]:
        """Every problem found, in document order."""
        out: list[FieldError] = []
        self._check(self.schema, document, "", out)
        return out

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        """Follow ``$ref`` to its definition."""
        seen = 0
        while "$ref" in schema:
            ref = schema["$ref"]
            if not ref.startswith("#/$defs/") or seen > 32:
                raise ValueError(f"unsupported schema reference {ref!r}")
            schema = self._defs[ref.removeprefix("#/$defs/")]
            seen += 1
        return schema

    def _check(self, schema: dict[str, Any], value: Any, path: str, out: list[FieldError]) -> None:
        schema = self.resolve(schema)
        where = path or "(document)"

        def fail(message: str) -> None:
            out.append(FieldError(path=where, message=message))

        for key in ("anyOf", "oneOf"):
            if key in schema:
                branches = [self.resolve(s) for s in schema[key]]
                if not any(not self._errors_of(b, value, path) for b in branches):
                    non_null = [b for b in branches if b.get("type") != "null"]
                    if len(non_null) == 1 and value is not None:
                        self._check(non_null[0], value, path, out)
                    else:
                        fail(f"must be {_describe_any(branches)}")
                return
        expected = schema.get("type")
        if expected is not None:
            allowed: list[str] = expected if isinstance(expected, list) else [expected]
            if not any(_type_ok(value, t) for t in allowed):
                names = " or ".join(_TYPE_NAMES.get(t, t) for t in allowed)
                fail(f"must be {names}, got {_TYPE_NAMES.get(json_type(value), json_type(value))}")
                return
        if "const" in schema and value != schema["const"]:
            fail(f"must be {schema['const']!r}")
            return
        if "enum" in schema and value not in schema["enum"]:
            fail("must be one of " + ", ".join(repr(v) for v in schema["enum"]))
            return
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            self._check_number(schema, value, fail)
        elif isinstance(value, str):
            self._check_string(schema, value, fail)
        elif isinstance(value, list):
            self._check_list(schema, value, path, out, fail)
        elif isinstance(value, dict):
            self._check_object(schema, value, path, out)

    def _errors_of(self, schema: dict[str, Any], value: Any, path: str) -> list[FieldError]:
        out: list[FieldError] = []
        self._check(schema, value, path, out)
        return out

    @staticmethod
    def _check_number(schema: dict[str, Any], value: float, fail: Any) -> None:
        if "minimum" in schema and value < schema["minimum"]:
            fail(f"must be at least {schema['minimum']}, got {value}")
        if "maximum" in schema and value > schema["maximum"]:
            fail(f"must be at most {schema['maximum']}, got {value}")
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            fail(f"must be greater than {schema['exclusiveMinimum']}, got {value}")
        if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
            fail(f"must be less than {schema['exclusiveMaximum']}, got {value}")

    @staticmethod
    def _check_string(schema: dict[str, Any], value: str, fail: Any) -> None:
        if "minLength" in schema and len(value) < schema["minLength"]:
            n = schema["minLength"]
            fail("must not be empty" if n == 1 else f"must be at least {n} characters")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            fail(f"must be at most {schema['maxLength']} characters, got {len(value)}")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            fail(f"must match the pattern {schema['pattern']}")

    def _check_list(
        self, schema: dict[str, Any], value: list[Any], path: str, out: list[FieldError], fail: Any
    ) -> None:
        if "minItems" in schema and len(value) < schema["minItems"]:
            fail(f"must have at least {schema['minItems']} items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            fail(f"must have at most {schema['maxItems']} items, got {len(value)}")
        items = schema.get("items")
        if isinstance(items, dict):
            for i, item in enumerate(value):
                self._check(items, item, join_path(path, i), out)

    def _check_object(
        self, schema: dict[str, Any], value: dict[str, Any], path: str, out: list[FieldError]
    ) -> None:
        props: dict[str, Any] = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                out.append(FieldError(path=join_path(path, name), message="is required"))
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            if key in props:
                self._check(props[key], item, join_path(path, key), out)
            elif extra is False:
                known = ", ".join(sorted(props)) or "none"
                out.append(
                    FieldError(
                        path=join_path(path, key),
                        message=f"is not a known setting (known here: {known})",
                    )
                )
            elif isinstance(extra, dict):
                self._check(extra, item, join_path(path, key), out)


def _describe_any(branches: list[dict[str, Any]]) -> str:
    names = []
    for b in branches:
        t = b.get("type")
        if "enum" in b:
            names.append("one of " + ", ".join(repr(v) for v in b["enum"]))
        elif isinstance(t, str):
            names.append(_TYPE_NAMES.get(t, t))
        else:
            names.append(b.get("title", "a valid value"))
    return " or ".join(names)
