"""The Anthropic Messages API wire format (``POST /v1/messages``), as llmsim speaks it.

* JSON: a ``message`` object with ``content`` blocks (``text``, ``tool_use``), ``stop_reason``
  and ``usage`` (``input_tokens`` excluding cache reads and writes, which are reported as
  ``cache_read_input_tokens`` and ``cache_creation_input_tokens``).
* SSE: ``message_start`` (with the input usage), ``ping``, per block ``content_block_start`` /
  ``content_block_delta`` (``text_delta`` or ``input_json_delta``) / ``content_block_stop``,
  ``message_delta`` (stop reason, cumulative output usage), ``message_stop``; an ``error``
  event for `StreamError`.
* Errors: ``{"type": "error", "error": {"type": ..., "message": ...}, "request_id": ...}``
  with a ``request-id`` header; 429 → ``rate_limit_error``, 529 → ``overloaded_error``.
"""

from __future__ import annotations

import json
from typing import Any

from clanker.llmsim._answer import Answer, Step, sse
from clanker.llmsim.script import HttpError

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


def error_body(error: HttpError, request_id: str) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body of an Anthropic error response."""
    error_type = error.error_type or _ERROR_TYPES.get(error.status, "api_error")
    body = {
        "type": "error",
        "error": {"type": error_type, "message": error.message or error_type},
        "request_id": request_id,
    }
    headers = [("content-type", "application/json"), ("request-id", request_id)]
    if error.retry_after is not None:
        headers.append(("retry-after", f"{error.retry_after:g}"))
    headers.extend(error.headers)
    return error.status, headers, json.dumps(body).encode()


def _usage(answer: Answer) -> dict[str, Any]:
    u = answer.usage
    return {
        "input_tokens": u.input_tokens,
        "cache_creation_input_tokens": u.cache_write_tokens,
        "cache_read_input_tokens": u.cache_read_tokens,
        "output_tokens": u.output_tokens,
    }


def message(answer: Answer, message_id: str) -> dict[str, Any]:
    """The complete Message object."""
    content: list[dict[str, Any]] = []
    if answer.text:
        content.append({"type": "text", "text": answer.text})
    for call in answer.calls:
        content.append(
            {"type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments}
        )
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": answer.model,
        "content": content,
        "stop_reason": answer.stop,
        "stop_sequence": None,
        "usage": _usage(answer),
    }


def stream_steps(answer: Answer, message_id: str) -> list[Step]:
    """The SSE events of the streamed Message (up to where the answer's stream ends)."""
    start = message(answer, message_id) | {"content": [], "stop_reason": None}
    start["usage"] = _usage(answer) | {"output_tokens": 1}
    steps = [
        Step(answer.delay, sse({"type": "message_start", "message": start}, "message_start")),
        Step(0.0, sse({"type": "ping"}, "ping")),
    ]
    index = 0
    if answer.pieces and (answer.text or answer.ending != "complete"):
        block: dict[str, Any] = {"type": "text", "text": ""}
        steps.append(
            Step(
                0.0,
                sse(
                    {"type": "content_block_start", "index": 0, "content_block": block},
                    "content_block_start",
                ),
            )
        )
        for piece in answer.pieces:
            delta = {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": piece},
            }
            steps.append(Step(answer.chunk_delay, sse(delta, "content_block_delta")))
        if answer.ending != "complete":
            return _ending(steps, answer)
        steps.append(
            Step(0.0, sse({"type": "content_block_stop", "index": 0}, "content_block_stop"))
        )
        index = 1
    elif answer.ending != "complete":
        return _ending(steps, answer)
    for call in answer.calls:
        block = {"type": "tool_use", "id": call.id, "name": call.name, "input": {}}
        steps.append(
            Step(
                0.0,
                sse(
                    {"type": "content_block_start", "index": index, "content_block": block},
                    "content_block_start",
                ),
            )
        )
        raw = call.arguments_json
        for piece in ["", *(raw[i : i + 12] for i in range(0, len(raw), 12))]:
            delta = {
                "type": "content_block_delta",
                "index": index,
                "delta": {"type": "input_json_delta", "partial_json": piece},
            }
            steps.append(Step(answer.chunk_delay, sse(delta, "content_block_delta")))
        steps.append(
            Step(0.0, sse({"type": "content_block_stop", "index": index}, "content_block_stop"))
        )
        index += 1
    final = {
        "type": "message_delta",
        "delta": {"stop_reason": answer.stop, "stop_sequence": None},
        "usage": {"output_tokens": answer.usage.output_tokens},
    }
    steps.append(Step(0.0, sse(final, "message_delta")))
    steps.append(Step(0.0, sse({"type": "message_stop"}, "message_stop")))
    return steps


def _ending(steps: list[Step], answer: Answer) -> list[Step]:
    if answer.ending == "error":
        error = {
            "type": "error",
            "error": {"type": answer.error_type, "message": answer.error_message},
        }
        steps.append(Step(0.0, sse(error, "error")))
    return steps
