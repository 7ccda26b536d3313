"""The Gemini Live client messages the sim accepts, checked the way Google's proto-JSON parser
checks them.

`read_client_message` takes one frame's JSON text and returns ``(kind, body)``: which of
``setup`` / ``clientContent`` / ``realtimeInput`` / ``toolResponse`` it sets, with every field
name in camelCase (the parser accepts snake_case too, as the API does). Anything the API's
parser would refuse raises `WireError` with the text the real API puts in the close reason
(code 1007): ``Invalid JSON payload received. Unknown name "x" at 'setup.generation_config':
Cannot find field.``, ``Invalid value at 'setup.model' (TYPE_STRING), 5``, a second member of
the ``message_type`` oneof, bad base64, an unknown enum value.

The table below is the ``BidiGenerateContent*`` message set of the v1beta API reference that
a voice client uses (and a little more); it is not the whole API.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

Spec = str | tuple[str, Any]
"""A field's type: ``"string"``, ``"bool"``, ``"int"``, ``"number"``, ``"bytes"``, ``"any"``
(a JSON value), ``"struct"`` (a JSON object), or ``("message", name)``, ``("enum", name)``,
``("list", spec)``, ``("map", spec)``."""


def _msg(name: str) -> Spec:
    return ("message", name)


def _list(spec: Spec) -> Spec:
    return ("list", spec)


MESSAGE_TYPES = ("setup", "clientContent", "realtimeInput", "toolResponse")

MESSAGES: dict[str, dict[str, Spec]] = {
    "ClientMessage": {kind: _msg(kind[0].upper() + kind[1:]) for kind in MESSAGE_TYPES},
    "Setup": {
        "model": "string",
        "generationConfig": _msg("GenerationConfig"),
        "systemInstruction": _msg("Content"),
        "tools": _list(_msg("Tool")),
        "realtimeInputConfig": _msg("RealtimeInputConfig"),
        "sessionResumption": _msg("SessionResumptionConfig"),
        "contextWindowCompression": _msg("ContextWindowCompressionConfig"),
        "inputAudioTranscription": _msg("AudioTranscriptionConfig"),
        "outputAudioTranscription": _msg("AudioTranscriptionConfig"),
        "proactivity": _msg("ProactivityConfig"),
        "historyConfig": _msg("HistoryConfig"),
    },
    "GenerationConfig": {
        "candidateCount": "int",
        "maxOutputTokens": "int",
        "temperature": "number",
        "topP": "number",
        "topK": "int",
        "presencePenalty": "number",
        "frequencyPenalty": "number",
        "seed": "int",
        "responseModalities": _list(("enum", "Modality")),
        "speechConfig": _msg("SpeechConfig"),
        "mediaResolution": ("enum", "MediaResolution"),
        "thinkingConfig": _msg("ThinkingConfig"),
        "enableAffectiveDialog": "bool",
    },
    "SpeechConfig": {
        "voiceConfig": _msg("VoiceConfig"),
        "languageCode": "string",
        "multiSpeakerVoiceConfig": "struct",
    },
    "VoiceConfig": {"prebuiltVoiceConfig": _msg("PrebuiltVoiceConfig")},
    "PrebuiltVoiceConfig": {"voiceName": "string"},
    "ThinkingConfig": {
        "includeThoughts": "bool",
        "thinkingBudget": "int",
        "thinkingLevel": ("enum", "ThinkingLevel"),
    },
    "Content": {"role": "string", "parts": _list(_msg("Part"))},
    "Part": {
        "text": "string",
        "inlineData": _msg("Blob"),
        "functionCall": _msg("FunctionCall"),
        "functionResponse": _msg("FunctionResponse"),
        "thought": "bool",
        "thoughtSignature": "bytes",
    },
    "Blob": {"mimeType": "string", "data": "bytes"},
    "FunctionCall": {"id": "string", "name": "string", "args": "struct"},
    "Tool": {
        "functionDeclarations": _list(_msg("FunctionDeclaration")),
        "googleSearch": "struct",
        "codeExecution": "struct",
        "urlContext": "struct",
    },
    "FunctionDeclaration": {
        "name": "string",
        "description": "string",
        "behavior": ("enum", "Behavior"),
        "parameters": _msg("Schema"),
        "parametersJsonSchema": "any",
        "response": _msg("Schema"),
        "responseJsonSchema": "any",
    },
    "Schema": {
        "type": ("enum", "Type"),
        "format": "string",
        "title": "string",
        "description": "string",
        "nullable": "bool",
        "enum": _list("string"),
        "maxItems": "int",
        "minItems": "int",
        "properties": ("map", _msg("Schema")),
        "required": _list("string"),
        "minProperties": "int",
        "maxProperties": "int",
        "minLength": "int",
        "maxLength": "int",
        "pattern": "string",
        "example": "any",
        "anyOf": _list(_msg("Schema")),
        "propertyOrdering": _list("string"),
        "default": "any",
        "items": _msg("Schema"),
        "minimum": "number",
        "maximum": "number",
    },
    "RealtimeInputConfig": {
        "automaticActivityDetection": _msg("AutomaticActivityDetection"),
        "activityHandling": ("enum", "ActivityHandling"),
        "turnCoverage": ("enum", "TurnCoverage"),
    },
    "AutomaticActivityDetection": {
        "disabled": "bool",
        "startOfSpeechSensitivity": ("enum", "StartSensitivity"),
        "endOfSpeechSensitivity": ("enum", "EndSensitivity"),
        "prefixPaddingMs": "int",
        "silenceDurationMs": "int",
    },
    "SessionResumptionConfig": {"handle": "string", "transparent": "bool"},
    "ContextWindowCompressionConfig": {
        "slidingWindow": _msg("SlidingWindow"),
        "triggerTokens": "int",
    },
    "SlidingWindow": {"targetTokens": "int"},
    "AudioTranscriptionConfig": {"languageCodes": _list("string")},
    "ProactivityConfig": {"proactiveAudio": "bool"},
    "HistoryConfig": {"initialHistoryInClientContent": "bool"},
    "ClientContent": {"turns": _list(_msg("Content")), "turnComplete": "bool"},
    "RealtimeInput": {
        "mediaChunks": _list(_msg("Blob")),
        "audio": _msg("Blob"),
        "video": _msg("Blob"),
        "text": "string",
        "activityStart": _msg("ActivityStart"),
        "activityEnd": _msg("ActivityEnd"),
        "audioStreamEnd": "bool",
    },
    "ActivityStart": {},
    "ActivityEnd": {},
    "ToolResponse": {"functionResponses": _list(_msg("FunctionResponse"))},
    "FunctionResponse": {
        "id": "string",
        "name": "string",
        "response": "struct",
        "willContinue": "bool",
        "scheduling": ("enum", "Scheduling"),
    },
}

ENUMS: dict[str, frozenset[str]] = {
    "Modality": frozenset({"MODALITY_UNSPECIFIED", "TEXT", "IMAGE", "AUDIO"}),
    "MediaResolution": frozenset(
        {
            "MEDIA_RESOLUTION_UNSPECIFIED",
            "MEDIA_RESOLUTION_LOW",
            "MEDIA_RESOLUTION_MEDIUM",
            "MEDIA_RESOLUTION_HIGH",
        }
    ),
    "ThinkingLevel": frozenset({"THINKING_LEVEL_UNSPECIFIED", "MINIMAL", "LOW", "MEDIUM", "HIGH"}),
    "Behavior": frozenset({"UNSPECIFIED", "BLOCKING", "NON_BLOCKING"}),
    "Type": frozenset(
        {
            "TYPE_UNSPECIFIED",
            "STRING",
            "NUMBER",
            "INTEGER",
            "BOOLEAN",
            "ARRAY",
            "OBJECT",
            "NULL",
        }
    ),
    "ActivityHandling": frozenset(
        {"ACTIVITY_HANDLING_UNSPECIFIED", "START_OF_ACTIVITY_INTERRUPTS", "NO_INTERRUPTION"}
    ),
    "TurnCoverage": frozenset(
        {"TURN_COVERAGE_UNSPECIFIED", "TURN_INCLUDES_ONLY_ACTIVITY", "TURN_INCLUDES_ALL_INPUT"}
    ),
    "StartSensitivity": frozenset(
        {"START_SENSITIVITY_UNSPECIFIED", "START_SENSITIVITY_HIGH", "START_SENSITIVITY_LOW"}
    ),
    "EndSensitivity": frozenset(
        {"END_SENSITIVITY_UNSPECIFIED", "END_SENSITIVITY_HIGH", "END_SENSITIVITY_LOW"}
    ),
    "Scheduling": frozenset({"SCHEDULING_UNSPECIFIED", "SILENT", "WHEN_IDLE", "INTERRUPT"}),
}

_SCALAR_NAMES = {
    "string": "TYPE_STRING",
    "bool": "TYPE_BOOL",
    "int": "TYPE_INT32",
    "number": "TYPE_FLOAT",
    "bytes": "TYPE_BYTES",
}


class WireError(Exception):
    """A client message the API's parser refuses; the text is the close reason (1007)."""


def read_client_message(text: str | bytes) -> tuple[str, dict[str, Any]]:
    """Parse and check one client frame; returns its kind and its body in camelCase."""
    try:
        value = json.loads(text)
    except ValueError:
        raise WireError("Invalid JSON payload received. Unexpected token.") from None
    if not isinstance(value, dict):
        raise WireError("Invalid JSON payload received. Root element must be a message.")
    message = _check(value, _msg("ClientMessage"), "")
    kinds = list(message)
    if len(kinds) > 1:
        raise WireError(
            "Invalid JSON payload received. Oneof field 'message_type' is already set. "
            f"Cannot set '{_snake(kinds[1])}'"
        )
    if not kinds:
        raise WireError(
            "Invalid request: a client message sets one of setup, clientContent, "
            "realtimeInput or toolResponse (realtimesim)"
        )
    return kinds[0], message[kinds[0]]


def _check(value: Any, spec: Spec, path: str) -> Any:
    if isinstance(spec, tuple):
        kind, inner = spec
        if kind == "message":
            return _message(value, inner, path)
        if kind == "enum":
            if not isinstance(value, str) or value not in ENUMS[inner]:
                raise _invalid(
                    path, f"type.googleapis.com/google.ai.generativelanguage.{inner}", value
                )
            return value
        if kind == "list":
            if not isinstance(value, list):
                raise WireError(
                    f"Invalid JSON payload received. Expected an array at '{path}'"
                    f" (got {json.dumps(value)[:40]})."
                )
            return [_check(v, inner, f"{path}[{i}]") for i, v in enumerate(value)]
        if not isinstance(value, dict):  # "map"
            raise _invalid(path, "map", value)
        return {k: _check(v, inner, f"{path}[{k}]") for k, v in value.items()}
    if spec == "any":
        return value
    if spec == "struct":
        if not isinstance(value, dict):
            raise _invalid(path, "google.protobuf.Struct", value)
        return value
    ok = {
        "string": isinstance(value, str),
        "bool": isinstance(value, bool),
        "int": _is_int(value),
        "number": isinstance(value, (int, float)) and not isinstance(value, bool),
        "bytes": isinstance(value, str),
    }[spec]
    if not ok:
        raise _invalid(path, _SCALAR_NAMES[spec], value)
    if spec == "bytes":
        try:
            base64.b64decode(value.replace("-", "+").replace("_", "/"), validate=True)
        except (binascii.Error, ValueError):
            raise WireError(
                f"Invalid value at '{path}' (TYPE_BYTES), Base64 decoding failed for "
                f'"{value[:20]}"'
            ) from None
    return value


def _message(value: Any, name: str, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _invalid(path, name, value)
    fields = MESSAGES[name]
    out: dict[str, Any] = {}
    for key, item in value.items():
        camel = _camel(key)
        if camel not in fields:
            where = f" at '{path}'" if path else ""
            raise WireError(
                f'Invalid JSON payload received. Unknown name "{key}"{where}: Cannot find field.'
            )
        out[camel] = _check(
            item, fields[camel], f"{path}.{_snake(camel)}" if path else _snake(camel)
        )
    return out


def _invalid(path: str, type_name: str, value: Any) -> WireError:
    return WireError(f"Invalid value at '{path}' ({type_name}), {json.dumps(value)[:40]}")


def _is_int(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    if isinstance(value, float):
        return value.is_integer()
    return isinstance(value, str) and re.fullmatch(r"-?\d+", value) is not None


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()
