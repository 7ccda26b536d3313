"""JSON Schema of the settings, and settings as JSON for a browser.

The dashboard builds its settings form from `settings_json_schema` (titles, help text,
bounds and defaults all come from the model). Discord ids are strings there: a browser's JSON
numbers are doubles and would corrupt a 64-bit id. The validator accepts either form back.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import msgspec

from clanker.settings.model import SNOWFLAKE_MARK, Settings
from clanker.settings.patch import settings_data

_SNOWFLAKE_STRING: dict[str, Any] = {
    "type": "string",
    "pattern": "^[1-9][0-9]{0,18}$",
    "description": "A Discord id (digits, as a string).",
}


def _rewrite(node: Any) -> Any:
    if isinstance(node, dict):
        if node.get(SNOWFLAKE_MARK):
            return dict(_SNOWFLAKE_STRING)
        return {k: _rewrite(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_rewrite(v) for v in node]
    return node


def _ids_to_strings(node: Any, schema_node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(schema_node, dict) and "$ref" in schema_node:
        schema_node = defs[schema_node["$ref"].rsplit("/", 1)[-1]]
    if isinstance(node, dict) and isinstance(schema_node, dict):
        props = schema_node.get("properties", {})
        return {k: _ids_to_strings(v, props.get(k), defs) for k, v in node.items()}
    if isinstance(node, list) and isinstance(schema_node, dict):
        return [_ids_to_strings(v, schema_node.get("items"), defs) for v in node]
    if isinstance(schema_node, dict) and schema_node.get(SNOWFLAKE_MARK):
        return str(node)
    return node


@cache
def _raw_schema() -> dict[str, Any]:
    schema: dict[str, Any] = msgspec.json.schema(Settings)
    return schema


def settings_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of `Settings`, ids as digit strings."""
    rewritten: dict[str, Any] = _rewrite(_raw_schema())
    return rewritten


def settings_to_browser(settings: Settings) -> dict[str, Any]:
    """``settings`` as JSON-ready data with Discord ids as strings (for the dashboard)."""
    raw = _raw_schema()
    data = settings_data(settings)
    result: dict[str, Any] = _ids_to_strings(data, raw, raw["$defs"])
    return result
