"""Frames checked against the official `openai` SDK's Realtime event models.

The SDK's pydantic models accept unknown fields (``extra="allow"``), so a plain validation
would let a misspelt field through; `client_event` and `server_event` also walk the validated
model and fail on any field the SDK does not know. The one exception is the session object of
``session.created`` / ``session.updated``: the SDK types it as the request shape, while the
API sends the response shape (with ``id``, ``object``, ``expires_at``), so that object is
checked strictly against `RealtimeSessionCreateResponse` instead.
"""

from __future__ import annotations

import functools
import json
import typing
from typing import Any

import pydantic
from openai._models import BaseModel
from openai.types.realtime import (
    RealtimeClientEvent,
    RealtimeServerEvent,
    RealtimeSessionCreateResponse,
)

SESSION_EVENTS = ("session.created", "session.updated")


@functools.cache
def _adapter(tp: Any) -> pydantic.TypeAdapter[Any]:
    if typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    return pydantic.TypeAdapter(tp)


def unknown_fields(value: Any, path: str = "$", skip: tuple[str, ...] = ()) -> list[str]:
    """Paths of fields the SDK's models did not declare, anywhere under ``value``."""
    if path in skip:
        return []
    found: list[str] = []
    if isinstance(value, BaseModel):
        found += [f"{path}.{name}" for name in sorted(value.model_extra or {})]
        for name in type(value).model_fields:
            found += unknown_fields(getattr(value, name), f"{path}.{name}", skip)
    elif isinstance(value, list):
        for i, entry in enumerate(value):
            found += unknown_fields(entry, f"{path}[{i}]", skip)
    return found


def _strict(tp: Any, data: Any, skip: tuple[str, ...] = (), root: str = "$") -> Any:
    model = _adapter(tp).validate_python(data)
    extra = unknown_fields(model, root, skip)
    assert not extra, f"fields the SDK does not know: {extra} in {data}"
    return model


def client_event(frame: str | bytes) -> Any:
    """Validate one outgoing frame as a Realtime client event; returns the SDK model."""
    assert isinstance(frame, str), f"client events are text frames, got {type(frame)}"
    return _strict(RealtimeClientEvent, json.loads(frame))


def server_event(data: dict[str, Any] | str) -> Any:
    """Validate one server event (a dict or its JSON); returns the SDK model."""
    event = json.loads(data) if isinstance(data, str) else data
    if event.get("type") in SESSION_EVENTS:
        _strict(RealtimeSessionCreateResponse, event["session"], root="$.session")
        return _strict(RealtimeServerEvent, event, skip=("$.session",))
    return _strict(RealtimeServerEvent, event)
