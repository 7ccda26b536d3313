"""Our JSON-schema tools as Gemini ``functionDeclarations`` (`gemini_tools`), each result
checked against the `google-genai` SDK's `FunctionDeclaration` model."""

from __future__ import annotations

import json
from typing import Any

import pytest
from google.genai import types

from clanker.tools.music import MUSIC_SPEC
from clanker.tools.web_search import WEB_SEARCH_SPEC
from clanker.voice.realtime.api import ToolSpec
from clanker.voice.realtime.gemini_tools import function_declarations, gemini_schema


def declared(parameters: dict[str, Any], name: str = "tool") -> dict[str, Any]:
    [declaration] = function_declarations(
        (ToolSpec(name=name, description="d", parameters=parameters),)
    )
    parsed = types.FunctionDeclaration.model_validate_json(json.dumps(declaration))
    assert parsed.model_dump(mode="json", by_alias=True, exclude_none=True) == declaration
    return declaration


def test_clankers_own_tools_convert_with_their_meaning_and_without_additional_properties() -> None:
    music = declared(dict(MUSIC_SPEC.parameters), MUSIC_SPEC.name)["parameters"]
    assert music["type"] == "OBJECT"
    assert music["required"] == ["action"]
    assert music["properties"]["action"]["type"] == "STRING"
    assert (
        music["properties"]["action"]["enum"]
        == MUSIC_SPEC.parameters["properties"]["action"]["enum"]
    )
    assert "additionalProperties" not in json.dumps(music)
    search = declared(dict(WEB_SEARCH_SPEC.parameters), WEB_SEARCH_SPEC.name)["parameters"]
    assert search["properties"]["count"] == {
        "type": "INTEGER",
        "minimum": 1,
        "maximum": 10,
        "description": "How many results (default 5)",
    }


def test_nested_arrays_nullable_unions_const_and_one_of() -> None:
    schema = {
        "type": "object",
        "properties": {
            "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
            "note": {"type": ["string", "null"]},
            "id": {"type": ["string", "integer"]},
            "mode": {"const": "fast"},
            "when": {"type": "string", "format": "date-time"},
            "site": {"type": "string", "format": "uri"},
            "either": {"oneOf": [{"type": "boolean"}, {"type": "number"}]},
        },
    }
    props = declared(schema)["parameters"]["properties"]
    assert props["tags"] == {"type": "ARRAY", "maxItems": 3, "items": {"type": "STRING"}}
    assert props["note"] == {"type": "STRING", "nullable": True}
    assert props["id"] == {"anyOf": [{"type": "STRING"}, {"type": "INTEGER"}]}
    assert props["mode"] == {"type": "STRING", "enum": ["fast"]}
    assert props["when"] == {"type": "STRING", "format": "date-time"}
    assert props["site"] == {"type": "STRING"}  # a format Gemini does not know is dropped
    assert props["either"] == {"anyOf": [{"type": "BOOLEAN"}, {"type": "NUMBER"}]}


def test_a_tool_without_arguments_has_no_parameters() -> None:
    assert "parameters" not in declared({"type": "object", "properties": {}})
    assert "parameters" not in declared({"type": "object", "additionalProperties": False})


@pytest.mark.parametrize(
    ("schema", "problem"),
    [
        ({"$ref": "#/$defs/x"}, "keyword '\\$ref' at parameters has no Gemini equivalent"),
        (
            {"type": "object", "properties": {"a": {"allOf": []}}},
            "'allOf' at parameters.properties.a",
        ),
        ({"type": "integer", "enum": [1, 2]}, "Gemini enums are strings"),
        ({"type": "tuple"}, "'tuple' at parameters is not a JSON type"),
        ({"type": 3}, "not a name or names"),
        ({"type": "object", "properties": []}, "properties at parameters is not an object"),
        ({"type": "array", "items": "string"}, "the schema at parameters.items is not an object"),
    ],
)
def test_what_gemini_cannot_express_is_refused_naming_the_tool_and_the_place(
    schema: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ValueError, match=f"tool 'quiz': .*{problem}"):
        gemini_schema(schema, tool="quiz")
