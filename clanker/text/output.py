"""Reading the model's answer: structured JSON if possible, whatever can be saved if not.

The model is asked for ``{"text": ..., "skip": ..., "reaction": ...}``. What comes back is
not always that, so `parse_reply_output` tries, in order, and never raises:

1. nothing (or only a ``<think>`` block) → skip, ``empty_output``;
2. exactly ``[SKIP]`` → skip, ``llm_skip``;
3. the whole text as a JSON object → state ``json``;
4. a JSON object in a fenced block or inside prose → ``recovered_json``;
5. a truncated object (``{"text": "half a sente``) → its fields, ``recovered_json``;
6. otherwise the prose itself is the reply → ``prose`` (unless it says ``[SKIP]``).

A reaction survives a skip: the model may react without writing anything. A ``media`` object
(``{"type": "gif" | "image", "prompt": …}``, `clanker.media.request.read_media`) rides along
with a reply that has text; a skip drops it (there is no message to post it with).
"""

from __future__ import annotations

import json
import re
from enum import StrEnum
from typing import Any

import msgspec

from clanker.media.request import MediaRequest, read_media

SKIP_TOKEN = "[SKIP]"

MAX_REPLY_CHARS = 3600
"""Longest reply text kept (about two Discord messages); longer text is cut at a word."""

_TEXT_KEYS = ("text", "reply", "message", "content")
_REACTION_KEYS = ("reaction", "reactionEmoji", "reaction_emoji", "emoji")
_KNOWN_KEYS = {*_TEXT_KEYS, *_REACTION_KEYS, "skip"}
_MAX_OBJECT_SCANS = 64

_THINK = re.compile(r"<(think|thinking)>.*?(</\1>|\Z)", re.IGNORECASE | re.DOTALL)
_FENCE = re.compile(r"```[ \t]*(?:json|JSON)?[ \t]*\n?(.*?)(?:```|\Z)", re.DOTALL)
_SKIP_ANYWHERE = re.compile(r"\[\s*skip\s*\]", re.IGNORECASE)
_CUSTOM_EMOJI = re.compile(r"<a?:\w{2,32}:\d{15,21}>")
_decoder = json.JSONDecoder()


class ParseState(StrEnum):
    """How the answer was read."""

    JSON = "json"
    RECOVERED_JSON = "recovered_json"
    PROSE = "prose"
    EMPTY = "empty"


class ReplyOutput(msgspec.Struct, frozen=True, kw_only=True):
    """The model's decision: ``text`` to send (empty when ``skip``), an optional reaction,
    how the raw answer was read, and why it is a skip (``llm_skip``, ``empty_reply`` …)."""

    text: str = ""
    skip: bool
    reaction: str | None = None
    state: ParseState
    skip_reason: str | None = None
    original_chars: int | None = None  # set when ``text`` was cut to `MAX_REPLY_CHARS`
    media: MediaRequest | None = None  # a GIF or image to post with the text


def normalize_reaction(value: Any) -> str | None:
    """A usable reaction emoji from the model's value, or None.

    Keeps a custom emoji (``<:name:id>``) or a short run of non-ASCII symbols (a unicode
    emoji, keycaps and flags included); refuses words, shortcodes (``:fire:``) and blanks.
    """
    if not isinstance(value, str):
        return None
    emoji = _clean(value).strip()
    if not emoji or len(emoji) > 64:
        return None
    if _CUSTOM_EMOJI.fullmatch(emoji):
        return emoji
    if len(emoji) > 16 or any(c.isspace() for c in emoji):
        return None
    if any(c.isascii() and c.isalpha() for c in emoji):
        return None
    if not any(ord(c) >= 0x2000 for c in emoji):
        return None
    return emoji


def _clean(text: str) -> str:
    """Join surrogate pairs left by \\u escapes; replace lone halves (they cannot be sent)."""
    if not any("\ud800" <= c <= "\udfff" for c in text):
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "1")
    return value is True or (isinstance(value, (int, float)) and value == 1)


def _cut(text: str) -> str:
    if len(text) <= MAX_REPLY_CHARS:
        return text
    head = text[:MAX_REPLY_CHARS]
    space = head.rfind(" ")
    return (head[:space] if space > MAX_REPLY_CHARS // 2 else head).rstrip()


def _decision(
    text: str,
    skip: bool,
    reaction: str | None,
    state: ParseState,
    reason: str | None = None,
    media: MediaRequest | None = None,
) -> ReplyOutput:
    text = _clean(text)
    if not skip and _SKIP_ANYWHERE.search(text):
        skip, reason = True, "llm_skip"
    if not skip and not text.strip():
        skip, reason = True, "empty_reply"
    if skip:
        return ReplyOutput(
            skip=True, reaction=reaction, state=state, skip_reason=reason or "llm_skip"
        )
    whole = text.strip()
    kept = _cut(whole)
    return ReplyOutput(
        text=kept,
        skip=False,
        reaction=reaction,
        state=state,
        original_chars=len(whole) if len(kept) < len(whole) else None,
        media=media,
    )


def _from_object(obj: dict[str, Any], state: ParseState) -> ReplyOutput:
    text: Any = ""
    for key in _TEXT_KEYS:
        if key in obj:
            text = obj[key]
            break
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        text = str(text)
    if not isinstance(text, str):
        text = ""
    reaction = None
    for key in _REACTION_KEYS:
        if key in obj:
            reaction = normalize_reaction(obj[key])
            break
    media = read_media(obj.get("media"))
    return _decision(text, _truthy(obj.get("skip")), reaction, state, media=media)


def _load(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _first_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in ``text`` that has one of the reply keys."""
    start = text.find("{")
    scans = 0
    while start != -1 and scans < _MAX_OBJECT_SCANS:
        scans += 1
        try:
            value, _ = _decoder.raw_decode(text, start)
        except (ValueError, RecursionError):
            value = None
        if isinstance(value, dict) and _KNOWN_KEYS & set(value):
            return value
        start = text.find("{", start + 1)
    return None


def _lenient_string(body: str) -> str:
    """Decode the inside of a JSON string that may be cut short or badly escaped."""
    body = re.sub(r"\\u[0-9a-fA-F]{0,3}$|\\$", "", body)  # an escape cut in half
    body = re.sub(r"\\u[dD][89abAB][0-9a-fA-F]{2}$", "", body)  # half a surrogate pair
    try:
        decoded = json.loads(f'"{body}"')
        if isinstance(decoded, str):
            return decoded
    except ValueError:
        pass
    simple = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "/": "/", "b": "", "f": ""}

    def unescape(m: re.Match[str]) -> str:
        code = m.group(1)
        if code.startswith("u"):
            try:
                return chr(int(code[1:], 16))
            except ValueError:
                return ""
        return simple.get(code, code)

    return re.sub(r"\\(u[0-9a-fA-F]{4}|.)", unescape, body, flags=re.DOTALL)


def _string_after(text: str, keys: tuple[str, ...]) -> str | None:
    for key in keys:
        found = re.search(rf'"{re.escape(key)}"\s*:\s*"', text)
        if found is None:
            continue
        i = found.end()
        chars: list[str] = []
        while i < len(text):
            c = text[i]
            if c == "\\" and i + 1 < len(text):
                chars.append(text[i : i + 2])
                i += 2
                continue
            if c == '"':
                break
            chars.append(c)
            i += 1
        return _lenient_string("".join(chars))
    return None


def _recover_partial(text: str) -> dict[str, Any] | None:
    """Fields of a reply object that is cut short or otherwise not valid JSON."""
    if "{" not in text:
        return None
    found: dict[str, Any] = {}
    body = _string_after(text, _TEXT_KEYS)
    if body is not None:
        found["text"] = body
    skip = re.search(r'"skip"\s*:\s*"?(true|false)', text, re.IGNORECASE)
    if skip:
        found["skip"] = skip.group(1).lower() == "true"
    reaction = _string_after(text, _REACTION_KEYS)
    if reaction is not None:
        found["reaction"] = reaction
    return found or None


def parse_reply_output(raw: str) -> ReplyOutput:
    """Read the model's raw answer as a reply decision. Never raises."""
    text = _THINK.sub("", _clean(raw) if isinstance(raw, str) else "").strip()
    if not text:
        return ReplyOutput(skip=True, state=ParseState.EMPTY, skip_reason="empty_output")
    if _SKIP_ANYWHERE.fullmatch(text.strip("`'\"* \n")):
        return ReplyOutput(skip=True, state=ParseState.PROSE, skip_reason="llm_skip")

    whole = _load(text)
    if isinstance(whole, dict):
        if _KNOWN_KEYS & set(whole):
            return _from_object(whole, ParseState.JSON)
        return ReplyOutput(
            skip=True, state=ParseState.JSON, skip_reason="invalid_structured_output"
        )
    if isinstance(whole, str):
        return _decision(whole, False, None, ParseState.PROSE)

    for fenced in _FENCE.findall(text):
        inner = _load(fenced.strip())
        if isinstance(inner, dict) and _KNOWN_KEYS & set(inner):
            return _from_object(inner, ParseState.RECOVERED_JSON)
    embedded = _first_object(text)
    if embedded is not None:
        return _from_object(embedded, ParseState.RECOVERED_JSON)
    partial = _recover_partial(text)
    if partial is not None:
        return _from_object(partial, ParseState.RECOVERED_JSON)
    return _decision(text, False, None, ParseState.PROSE)
