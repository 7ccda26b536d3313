"""Gemini Live frames checked against the official `google-genai` SDK's Live message models.

The SDK's pydantic models forbid unknown fields, validate types, enums and base64, and accept
both camelCase and snake_case names; each check also dumps the validated model back by alias
and requires the very JSON it was given, so a snake_case or misspelt field, a dropped value or
a wrong enum fails the test. The one gap: the SDK's `LiveClientSetup` has no
``realtimeInputConfig`` (the SDK keeps it in `LiveConnectConfig` and writes it into the setup
on connect), so that object is checked against `RealtimeInputConfig` on its own.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pydantic
from google.genai import types

REALTIME_INPUT_CONFIG = "realtimeInputConfig"


BYTES_FIELDS = ("data",)
"""Fields the SDK types as bytes: it writes them back in base64's URL-safe alphabet, which the
API reads as well as the standard one, so they are compared as the bytes they carry."""


def _canonical(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: base64.urlsafe_b64decode(v.replace("+", "-").replace("/", "_"))
            if k in BYTES_FIELDS and isinstance(v, str)
            else _canonical(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


def _round_trip(model: type[pydantic.BaseModel], data: Any, what: str) -> Any:
    parsed = model.model_validate_json(json.dumps(data))
    back = parsed.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert _canonical(back) == _canonical(data), (
        f"{what} does not survive the SDK's {model.__name__}: "
        f"{str(data)[:400]} became {str(back)[:400]}"
    )
    return parsed


def client_message(frame: str | bytes) -> types.LiveClientMessage:
    """Validate one outgoing frame as a Live client message; returns the SDK model."""
    assert isinstance(frame, str), f"clanker sends Gemini text frames, got {type(frame)}"
    data = json.loads(frame)
    assert isinstance(data, dict) and len(data) == 1, (
        f"a client message sets exactly one of its fields: {data}"
    )
    setup = data.get("setup")
    if isinstance(setup, dict) and REALTIME_INPUT_CONFIG in setup:
        _round_trip(types.RealtimeInputConfig, setup[REALTIME_INPUT_CONFIG], "realtimeInputConfig")
        rest = {k: v for k, v in setup.items() if k != REALTIME_INPUT_CONFIG}
        data = {"setup": rest}
    parsed: types.LiveClientMessage = _round_trip(types.LiveClientMessage, data, "the frame")
    return parsed


def server_message(data: dict[str, Any] | str | bytes) -> types.LiveServerMessage:
    """Validate one server message (a dict or its JSON); returns the SDK model."""
    message = json.loads(data) if isinstance(data, (str, bytes)) else data
    assert isinstance(message, dict), f"a server message is a JSON object: {message!r}"
    parsed: types.LiveServerMessage = _round_trip(types.LiveServerMessage, message, "the message")
    return parsed
