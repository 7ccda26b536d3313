"""Tools for Gemini Live: our JSON-schema `ToolSpec`s as Gemini ``functionDeclarations``.

Gemini's ``FunctionDeclaration.parameters`` is not JSON Schema but Google's ``Schema`` object
(an OpenAPI 3.0 subset with upper-case ``type`` names). The API also has a
``parametersJsonSchema`` field, but the Live API has been reported to call such tools with
empty arguments, so the declarations written here use ``parameters``.

The conversion keeps what carries meaning (types, properties, required, items, enums, ranges,
descriptions, ``anyOf`` / ``oneOf``, ``const``), drops what only constrains and that the Schema
object does not have (``additionalProperties``, ``$schema``, ``exclusiveMinimum``, …, and
``format`` values Gemini does not know), and refuses the rest (``$ref``, ``allOf``, ``not``,
…) with a `ValueError` naming the tool and where in its schema the keyword is.

This module imports nothing but the standard library (a sans-IO core).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from clanker.voice.realtime.api import ToolSpec

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$")
"""Gemini's function names: a letter or '_' first, then letters, digits, '_', '.', ':', '-';
at most 64 characters."""

_TYPES = {
    "string": "STRING",
    "number": "NUMBER",
    "integer": "INTEGER",
    "boolean": "BOOLEAN",
    "array": "ARRAY",
    "object": "OBJECT",
}

_COPIED = (
    "description",
    "title",
    "pattern",
    "minimum",
    "maximum",
    "minItems",
    "maxItems",
    "minLength",
    "maxLength",
    "minProperties",
    "maxProperties",
    "default",
    "example",
    "nullable",
    "required",
    "propertyOrdering",
)

_DROPPED = frozenset(
    {
        "$schema",
        "$id",
        "$comment",
        "additionalProperties",
        "examples",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "uniqueItems",
        "readOnly",
        "writeOnly",
        "deprecated",
        "contentMediaType",
        "contentEncoding",
    }
)
"""JSON-schema keywords that only constrain or annotate and have no Schema field: dropped."""

_FORMATS = frozenset({"enum", "date-time", "int32", "int64", "float", "double"})
"""The ``format`` values Gemini's Schema documents; others are dropped."""

_HANDLED = frozenset({"type", "properties", "items", "enum", "const", "anyOf", "oneOf", "format"})


def function_declarations(tools: tuple[ToolSpec, ...]) -> list[dict[str, Any]]:
    """The ``functionDeclarations`` of one Gemini ``Tool`` for ``tools``, in order.

    A tool whose parameters are an object without properties gets no ``parameters`` (the API
    refuses an ``OBJECT`` schema with empty ``properties``)."""
    seen: set[str] = set()
    declarations: list[dict[str, Any]] = []
    for tool in tools:
        if not _NAME.match(tool.name):
            raise ValueError(
                "a Gemini function name starts with a letter or '_' and has at most 64 "
                f"letters, digits, '_', '.', ':' or '-'; {tool.name!r} is not one"
            )
        if tool.name in seen:
            raise ValueError(f"the tool {tool.name!r} is offered twice")
        seen.add(tool.name)
        declaration: dict[str, Any] = {"name": tool.name, "description": tool.description}
        parameters = gemini_schema(tool.parameters, tool=tool.name)
        if parameters.get("type") != "OBJECT" or parameters.get("properties"):
            declaration["parameters"] = parameters
        declarations.append(declaration)
    return declarations


def gemini_schema(node: Mapping[str, Any], *, tool: str, at: str = "parameters") -> dict[str, Any]:
    """One JSON-schema node as a Gemini ``Schema`` object (see the module docstring)."""
    if not isinstance(node, Mapping):
        raise ValueError(f"tool {tool!r}: the schema at {at} is not an object: {node!r}")
    out: dict[str, Any] = {}
    for key in node:
        if key not in _HANDLED and key not in _DROPPED and key not in _COPIED:
            raise ValueError(
                f"tool {tool!r}: the JSON-schema keyword {key!r} at {at} has no Gemini "
                "equivalent; rewrite the schema without it"
            )
    variants = _type(node.get("type"), tool=tool, at=at, out=out)
    for key in _COPIED:
        if key in node:
            out[key] = node[key]
    fmt = node.get("format")
    if isinstance(fmt, str) and fmt in _FORMATS:
        out["format"] = fmt
    if "properties" in node:
        properties = node["properties"]
        if not isinstance(properties, Mapping):
            raise ValueError(f"tool {tool!r}: properties at {at} is not an object")
        out["properties"] = {
            name: gemini_schema(sub, tool=tool, at=f"{at}.properties.{name}")
            for name, sub in properties.items()
        }
    if "items" in node:
        out["items"] = gemini_schema(node["items"], tool=tool, at=f"{at}.items")
    enum = list(node["enum"]) if "enum" in node else None
    if "const" in node:
        enum = [node["const"]]
    if enum is not None:
        if not all(isinstance(value, str) for value in enum):
            raise ValueError(
                f"tool {tool!r}: Gemini enums are strings; the enum at {at} is {enum!r}"
            )
        out["enum"] = enum
        out.setdefault("type", "STRING")
    alternatives = [*node.get("anyOf", ()), *node.get("oneOf", ())]
    if alternatives:
        out["anyOf"] = [
            gemini_schema(sub, tool=tool, at=f"{at}.anyOf[{i}]")
            for i, sub in enumerate(alternatives)
        ]
    if variants:
        out["anyOf"] = [*out.get("anyOf", []), *variants]
    return out


def _type(value: Any, *, tool: str, at: str, out: dict[str, Any]) -> list[dict[str, Any]]:
    """Sets ``out["type"]`` (and ``nullable``); a list of several types comes back as
    ``anyOf`` variants instead."""
    if value is None:
        return []
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ValueError(f"tool {tool!r}: the type at {at} is {value!r}, not a name or names")
    unknown = [n for n in names if n != "null" and n not in _TYPES]
    if unknown:
        raise ValueError(f"tool {tool!r}: the type {unknown[0]!r} at {at} is not a JSON type")
    if "null" in names:
        out["nullable"] = True
    real = [_TYPES[n] for n in names if n != "null"]
    if len(real) == 1:
        out["type"] = real[0]
        return []
    return [{"type": name} for name in real]
