"""The ElevenLabs agent events the sim sends, as plain dicts, and the check of the
conversation initiation a client sends.

Pure functions: no sockets, no clock. The shapes follow ElevenLabs' AsyncAPI contract for
the agent WebSocket (``elevenlabs/packages``, ``packages/types/schemas/agent.asyncapi.yaml``)
and its API reference; the tests check every event the sim sends against those shapes
(``tests/voice/realtime/elevenlabs_shapes.py``), refusing fields they do not name.
"""

from __future__ import annotations

from typing import Any

FORMATS = frozenset(
    {"pcm_8000", "pcm_16000", "pcm_22050", "pcm_24000", "pcm_44100", "pcm_48000", "ulaw_8000"}
)
DEFAULT_FORMAT = "pcm_16000"

_OVERRIDE_FIELDS: dict[str, dict[str, tuple[type, ...]]] = {
    "agent": {"first_message": (str, type(None)), "language": (str,), "prompt": (dict,),
              "native_mcp_server_ids": (list, type(None))},
    "tts": {"voice_id": (str, type(None)), "stability": (int, float, type(None)),
            "speed": (int, float, type(None)), "similarity_boost": (int, float, type(None))},
    "conversation": {"text_only": (bool, type(None)), "client_events": (list, type(None))},
}  # fmt: skip
_INITIATION_FIELDS = {
    "type",
    "conversation_config_override",
    "custom_llm_extra_body",
    "dynamic_variables",
    "user_id",
    "source_info",
    "tool_mock_config",
}


def rate_of(audio_format: str) -> int:
    """The sample rate of a format (``ulaw_8000`` is 8 kHz)."""
    return int(audio_format.rpartition("_")[2])


def metadata(conversation_id: str, *, output_format: str, input_format: str) -> dict[str, Any]:
    return {
        "type": "conversation_initiation_metadata",
        "conversation_initiation_metadata_event": {
            "conversation_id": conversation_id,
            "agent_output_audio_format": output_format,
            "user_input_audio_format": input_format,
        },
    }


def audio(audio_base_64: str, event_id: int) -> dict[str, Any]:
    return {"type": "audio", "audio_event": {"audio_base_64": audio_base_64, "event_id": event_id}}


def agent_response(text: str, event_id: int) -> dict[str, Any]:
    return {
        "type": "agent_response",
        "agent_response_event": {"agent_response": text, "event_id": event_id},
    }


def correction(original: str, corrected: str, event_id: int) -> dict[str, Any]:
    return {
        "type": "agent_response_correction",
        "agent_response_correction_event": {
            "original_agent_response": original,
            "corrected_agent_response": corrected,
            "event_id": event_id,
        },
    }


def interruption(event_id: int) -> dict[str, Any]:
    return {"type": "interruption", "interruption_event": {"event_id": event_id}}


def user_transcript(text: str, event_id: int) -> dict[str, Any]:
    return {
        "type": "user_transcript",
        "user_transcription_event": {"user_transcript": text, "event_id": event_id},
    }


def client_tool_call(
    name: str, call_id: str, parameters: dict[str, Any], event_id: int
) -> dict[str, Any]:
    return {
        "type": "client_tool_call",
        "client_tool_call": {
            "tool_name": name,
            "tool_call_id": call_id,
            "parameters": parameters,
            "event_id": event_id,
        },
    }


def ping(event_id: int, ping_ms: int | None) -> dict[str, Any]:
    return {"type": "ping", "ping_event": {"event_id": event_id, "ping_ms": ping_ms}}


def error(code: int, message: str, *, error_type: str | None, reason: str) -> dict[str, Any]:
    """The ``error`` event the API sends as it closes the conversation (code = close code)."""
    return {
        "type": "error",
        "error_event": {
            "code": code,
            "message": message,
            "error_type": error_type,
            "reason": reason,
        },
    }


def initiation_problem(message: dict[str, Any]) -> tuple[str, str] | None:
    """What is wrong with a ``conversation_initiation_client_data``, as (error type,
    message), or None. Only the documented fields, of their documented types."""
    for key in message:
        if key not in _INITIATION_FIELDS:
            return ("invalid_message", f"Unknown field '{key}' in conversation initiation.")
    override = message.get("conversation_config_override")
    if override is None:
        return None
    if not isinstance(override, dict):
        return ("override_error", "conversation_config_override must be an object.")
    for section, config in override.items():
        fields = _OVERRIDE_FIELDS.get(section)
        if fields is None or not isinstance(config, dict):
            return ("override_error", f"Unknown override section '{section}'.")
        for key, value in config.items():
            if key not in fields:
                return ("override_error", f"Unknown override '{section}.{key}'.")
            if not _fits(value, fields[key]):
                return ("override_error", f"Invalid value for override '{section}.{key}'.")
    prompt = (override.get("agent") or {}).get("prompt")
    if prompt is not None and (
        set(prompt) - {"prompt"} or not isinstance(prompt.get("prompt"), str)
    ):
        return ("override_error", "agent.prompt takes one field, prompt (a string).")
    return None


def _fits(value: Any, kinds: tuple[type, ...]) -> bool:
    if isinstance(value, bool) and bool not in kinds:
        return False  # True is an int to Python, not a number to the API
    return isinstance(value, kinds)
