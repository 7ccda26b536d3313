"""Raw gateway messages -> the bridge's structs, sans-IO.

discord.py-self routes VOICE_SERVER_UPDATE only to a voice client of its own, which clanker
does not use (clankvox is the voice client), so the bridge reads those from the raw gateway
stream. Only the envelope is decoded for every message; a payload is decoded only when its event
is one we convert.
"""

from __future__ import annotations

from typing import Any

import msgspec

from clanker.discord.events import RawDispatch, VoiceServerChanged, VoiceStateChanged

DISPATCH = 0
VOICE_EVENTS = frozenset({"VOICE_STATE_UPDATE", "VOICE_SERVER_UPDATE"})


class Envelope(msgspec.Struct):
    op: int
    t: str | None = None
    d: msgspec.Raw = msgspec.Raw(b"null")


_envelope = msgspec.json.Decoder(Envelope)
_payload = msgspec.json.Decoder(dict[str, Any])


def _opt_id(data: dict[str, Any], key: str) -> int | None:
    value = data.get(key)
    return None if value is None else int(value)


def voice_state(data: dict[str, Any]) -> VoiceStateChanged:
    return VoiceStateChanged(
        guild_id=_opt_id(data, "guild_id"),
        channel_id=_opt_id(data, "channel_id"),
        user_id=int(data["user_id"]),
        session_id=str(data.get("session_id") or ""),
        self_mute=bool(data.get("self_mute")),
        self_deaf=bool(data.get("self_deaf")),
        user_name=_member_name(data.get("member")),
    )


def _member_name(member: object) -> str | None:
    """The name a guild member goes by: nick, else global name, else username."""
    if not isinstance(member, dict):
        return None
    user = member.get("user")
    user = user if isinstance(user, dict) else {}
    for name in (member.get("nick"), user.get("global_name"), user.get("username")):
        if isinstance(name, str) and name:
            return name
    return None


def voice_server(data: dict[str, Any]) -> VoiceServerChanged:
    endpoint = data.get("endpoint")
    return VoiceServerChanged(
        guild_id=_opt_id(data, "guild_id"),
        channel_id=_opt_id(data, "channel_id"),
        token=str(data["token"]),
        endpoint=None if endpoint is None else str(endpoint),
    )


def convert(
    raw: str | bytes, raw_events: frozenset[str]
) -> VoiceStateChanged | VoiceServerChanged | RawDispatch | None:
    """The struct for one raw gateway message, or None when it is not one we pass on.

    Raises `ValueError` naming the problem for a message that is not gateway JSON or whose
    voice payload lacks a required field (the bridge logs it and carries on).
    """
    try:
        env = _envelope.decode(raw)
    except msgspec.DecodeError as exc:
        raise ValueError(f"not a gateway message: {exc}") from None
    if env.op != DISPATCH or env.t is None:
        return None
    if env.t not in VOICE_EVENTS and env.t not in raw_events:
        return None
    try:
        data = _payload.decode(env.d)
    except msgspec.DecodeError as exc:
        raise ValueError(f"{env.t} payload is not a JSON object: {exc}") from None
    try:
        if env.t in raw_events:
            return RawDispatch(event=env.t, guild_id=_opt_id(data, "guild_id"), data=data)
        if env.t == "VOICE_STATE_UPDATE":
            return voice_state(data)
        return voice_server(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{env.t} payload is malformed ({type(exc).__name__}: {exc})") from None
