"""The OpenAI wire formats as llmsim speaks them: the Responses API (``POST /v1/responses``)
and Chat Completions (``POST /v1/chat/completions``, also the shape of xAI, Ollama, vLLM and
llama.cpp).

Responses
  JSON: a ``response`` object whose ``output`` holds a ``message`` item (``output_text``) and
  ``function_call`` items; ``usage.input_tokens`` includes cached tokens
  (``input_tokens_details.cached_tokens``). SSE: named events with a ``sequence_number``:
  ``response.created``, ``response.in_progress``, ``response.output_item.added``,
  ``response.content_part.added``, ``response.output_text.delta`` …, ``.done`` events,
  ``response.function_call_arguments.delta`` / ``.done``, ``response.completed`` (or
  ``response.incomplete`` at the token limit); `StreamError` sends ``response.failed``.

Chat Completions
  JSON: ``chat.completion`` with ``choices[0].message`` (``content``, ``tool_calls``) and
  ``finish_reason``. SSE: ``data:`` lines of ``chat.completion.chunk`` (role first, content
  deltas, ``tool_calls`` fragments by ``index``, the ``finish_reason``), a usage chunk with no
  choices when ``stream_options.include_usage`` is set, then ``data: [DONE]``; `StreamError`
  sends ``data: {"error": ...}``.

Errors: ``{"error": {"message", "type", "param", "code"}}`` with ``x-request-id``;
``retry-after`` and ``retry-after-ms`` on request.
"""

from __future__ import annotations

import json
from typing import Any

from clanker.llmsim._answer import Answer, Step, sse
from clanker.llmsim.script import HttpError

_ERRORS: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
    500: ("server_error", "server_error"),
    503: ("server_error", "server_is_overloaded"),
}


def error_body(error: HttpError, request_id: str) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body of an OpenAI error response."""
    default_type, default_code = _ERRORS.get(error.status, ("server_error", None))
    error_type = error.error_type if error.error_type not in (None, "overloaded_error") else None
    body = {
        "error": {
            "message": error.message or default_type,
            "type": error_type or default_type,
            "param": None,
            "code": error.code or default_code,
        }
    }
    headers = [("content-type", "application/json"), ("x-request-id", request_id)]
    if error.retry_after is not None:
        headers.append(("retry-after", f"{error.retry_after:g}"))
        headers.append(("retry-after-ms", f"{error.retry_after * 1000:g}"))
    headers.extend(error.headers)
    return error.status, headers, json.dumps(body).encode()


# --- Responses ----------------------------------------------------------------------------------


def _responses_usage(answer: Answer) -> dict[str, Any]:
    u = answer.usage
    prompt = u.input_tokens + u.cache_read_tokens + u.cache_write_tokens
    return {
        "input_tokens": prompt,
        "input_tokens_details": {
            "cached_tokens": u.cache_read_tokens,
            "cache_write_tokens": u.cache_write_tokens,
        },
        "output_tokens": u.output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": prompt + u.output_tokens,
    }


def _message_item(answer: Answer, item_id: str, status: str = "completed") -> dict[str, Any]:
    kind = "refusal" if answer.stop == "refusal" else "output_text"
    part: dict[str, Any] = (
        {"type": "refusal", "refusal": answer.text}
        if kind == "refusal"
        else {"type": "output_text", "text": answer.text, "annotations": [], "logprobs": []}
    )
    return {
        "type": "message",
        "id": item_id,
        "status": status,
        "role": "assistant",
        "content": [part] if status == "completed" else [],
    }


def _call_item(
    call_id: str, item_id: str, name: str, arguments: str, status: str
) -> dict[str, Any]:
    return {
        "type": "function_call",
        "id": item_id,
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
        "status": status,
    }


def response(
    answer: Answer, response_id: str, created: int, *, status: str = "completed"
) -> dict[str, Any]:
    """The Response object (``status`` in_progress gives the empty shell a stream starts with)."""
    output: list[dict[str, Any]] = []
    if status != "in_progress":
        if answer.text:
            output.append(_message_item(answer, f"msg_{response_id}"))
        for i, call in enumerate(answer.calls):
            output.append(
                _call_item(
                    call.id, f"fc_{response_id}_{i}", call.name, call.arguments_json, "completed"
                )
            )
    incomplete = answer.stop == "max_tokens"
    final_status = (
        status if status == "in_progress" else ("incomplete" if incomplete else "completed")
    )
    return {
        "id": response_id,
        "object": "response",
        "created_at": created,
        "status": final_status,
        "model": answer.model,
        "output": output,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "error": None,
        "incomplete_details": {"reason": "max_output_tokens"}
        if incomplete and status != "in_progress"
        else None,
        "usage": None if status == "in_progress" else _responses_usage(answer),
    }


def responses_steps(answer: Answer, response_id: str, created: int) -> list[Step]:
    """The SSE events of a streamed Response."""
    seq = 0
    steps: list[Step] = []

    def emit(kind: str, delay: float = 0.0, **fields: Any) -> None:
        nonlocal seq
        steps.append(Step(delay, sse({"type": kind, "sequence_number": seq, **fields}, kind)))
        seq += 1

    shell = response(answer, response_id, created, status="in_progress")
    emit("response.created", answer.delay, response=shell)
    emit("response.in_progress", response=shell)
    output_index = 0
    if answer.text or answer.ending != "complete":
        item_id = f"msg_{response_id}"
        emit(
            "response.output_item.added",
            output_index=0,
            item=_message_item(answer, item_id, "in_progress"),
        )
        part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        emit(
            "response.content_part.added",
            item_id=item_id,
            output_index=0,
            content_index=0,
            part=part,
        )
        delta_kind = (
            "response.refusal.delta" if answer.stop == "refusal" else "response.output_text.delta"
        )
        for piece in answer.pieces:
            emit(
                delta_kind,
                answer.chunk_delay,
                item_id=item_id,
                output_index=0,
                content_index=0,
                delta=piece,
                logprobs=[],
            )
        if answer.ending != "complete":
            if answer.ending == "error":
                failed = shell | {
                    "status": "failed",
                    "error": {
                        "code": _failure_code(answer.error_type),
                        "message": answer.error_message,
                    },
                }
                emit("response.failed", response=failed)
            return steps
        emit(
            "response.output_text.done",
            item_id=item_id,
            output_index=0,
            content_index=0,
            text=answer.text,
            logprobs=[],
        )
        done_part = part | {"text": answer.text}
        emit(
            "response.content_part.done",
            item_id=item_id,
            output_index=0,
            content_index=0,
            part=done_part,
        )
        emit("response.output_item.done", output_index=0, item=_message_item(answer, item_id))
        output_index = 1
    for i, call in enumerate(answer.calls):
        item_id = f"fc_{response_id}_{i}"
        emit(
            "response.output_item.added",
            output_index=output_index,
            item=_call_item(call.id, item_id, call.name, "", "in_progress"),
        )
        raw = call.arguments_json
        for piece in (raw[j : j + 12] for j in range(0, len(raw), 12)):
            emit(
                "response.function_call_arguments.delta",
                answer.chunk_delay,
                item_id=item_id,
                output_index=output_index,
                delta=piece,
            )
        emit(
            "response.function_call_arguments.done",
            item_id=item_id,
            output_index=output_index,
            arguments=raw,
        )
        emit(
            "response.output_item.done",
            output_index=output_index,
            item=_call_item(call.id, item_id, call.name, raw, "completed"),
        )
        output_index += 1
    final = response(answer, response_id, created)
    emit(
        "response.incomplete" if final["status"] == "incomplete" else "response.completed",
        response=final,
    )
    return steps


def _failure_code(error_type: str) -> str:
    return {
        "overloaded_error": "server_is_overloaded",
        "rate_limit_error": "rate_limit_exceeded",
    }.get(error_type, "server_error")


# --- Chat Completions -------------------------------------------------------------------------


_FINISH = {
    "end_turn": "stop",
    "max_tokens": "length",
    "refusal": "content_filter",
    "tool_use": "tool_calls",
}


def _chat_usage(answer: Answer) -> dict[str, Any]:
    u = answer.usage
    prompt = u.input_tokens + u.cache_read_tokens + u.cache_write_tokens
    return {
        "prompt_tokens": prompt,
        "completion_tokens": u.output_tokens,
        "total_tokens": prompt + u.output_tokens,
        "prompt_tokens_details": {
            "cached_tokens": u.cache_read_tokens,
            "cache_write_tokens": u.cache_write_tokens,
        },
    }


def completion(answer: Answer, completion_id: str, created: int) -> dict[str, Any]:
    """The ChatCompletion object."""
    message: dict[str, Any] = {
        "role": "assistant",
        "content": answer.text or None,
        "refusal": None,
    }
    if answer.calls:
        message["tool_calls"] = [
            {
                "id": c.id,
                "type": "function",
                "function": {"name": c.name, "arguments": c.arguments_json},
            }
            for c in answer.calls
        ]
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": answer.model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": _FINISH[answer.stop],
                "logprobs": None,
            }
        ],
        "usage": _chat_usage(answer),
    }


def chat_steps(
    answer: Answer, completion_id: str, created: int, *, include_usage: bool
) -> list[Step]:
    """The SSE chunks of a streamed ChatCompletion."""
    steps: list[Step] = []

    def chunk(delta: dict[str, Any], finish: str | None = None, delay: float = 0.0) -> None:
        body: dict[str, Any] = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": answer.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
        }
        if include_usage:
            body["usage"] = None
        steps.append(Step(delay, sse(body)))

    chunk({"role": "assistant", "content": ""}, delay=answer.delay)
    for piece in answer.pieces if (answer.text or answer.ending != "complete") else ():
        chunk({"content": piece}, delay=answer.chunk_delay)
    if answer.ending != "complete":
        if answer.ending == "error":
            error = {
                "message": answer.error_message,
                "type": "server_error",
                "param": None,
                "code": _failure_code(answer.error_type),
            }
            steps.append(Step(0.0, sse({"error": error})))
        return steps
    for i, call in enumerate(answer.calls):
        head = {
            "index": i,
            "id": call.id,
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        chunk({"tool_calls": [head]})
        raw = call.arguments_json
        for piece in (raw[j : j + 12] for j in range(0, len(raw), 12)):
            chunk(
                {"tool_calls": [{"index": i, "function": {"arguments": piece}}]},
                delay=answer.chunk_delay,
            )
    chunk({}, finish=_FINISH[answer.stop])
    if include_usage:
        usage = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": answer.model,
            "choices": [],
            "usage": _chat_usage(answer),
        }
        steps.append(Step(0.0, sse(usage)))
    steps.append(Step(0.0, sse("[DONE]")))
    return steps
