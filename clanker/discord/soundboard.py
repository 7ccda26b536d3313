"""The soundboard through the bridge: list a guild's sounds (and Discord's defaults), play one
in a voice channel the account is connected to.

discord.py-self 2.1 has no soundboard API, so these go through its own HTTP client
(`client.http.request` with a `Route`: its auth, headers, rate limits and error types), in the
bridge's lane of the channel (or guild). Discord's refusals come back as `BridgeFailure` with its
status and JSON code (403/50013 Missing Permissions, 404/10097 Unknown Sound, ...).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from discord.http import Route

from clanker.discord import convert
from clanker.discord.events import BridgeFailure, Done
from clanker.runtime import handles
from clanker.wire import Message

if TYPE_CHECKING:
    from clanker.discord.bridge import DiscordBridge

log = logging.getLogger("clanker.discord")
_R = TypeVar("_R")


def _answered(
    name: str,
) -> Callable[[Callable[..., Awaitable[_R]]], Callable[..., Awaitable[_R | BridgeFailure]]]:
    """Any failure outside Discord's own answer (not logged in, a bug) is a `BridgeFailure`."""

    def wrap(fn: Callable[..., Awaitable[_R]]) -> Callable[..., Awaitable[_R | BridgeFailure]]:
        @functools.wraps(fn)
        async def run(*args: Any) -> _R | BridgeFailure:
            try:
                return await fn(*args)
            except Exception as exc:
                log.warning("%s failed: %s: %s", name, type(exc).__name__, exc)
                return convert.failure(name, exc)

        return run

    return wrap


class SoundInfo(Message, frozen=True):
    sound_id: int
    name: str
    guild_id: int | None = None  # None: one of Discord's default sounds
    emoji_name: str | None = None
    volume: float = 1.0
    available: bool = True


class ListSoundboardSounds(Message, frozen=True):
    """The sounds the account can play in `guild_id`: the guild's own, then Discord's defaults.
    Reply: `SoundboardSounds` or `BridgeFailure`."""

    guild_id: int


class SoundboardSounds(Message, frozen=True):
    sounds: tuple[SoundInfo, ...]


class PlaySoundboardSound(Message, frozen=True):
    """Play a sound in the voice channel `channel_id` (the account must be connected to it,
    unmuted, with SPEAK and USE_SOUNDBOARD there). `source_guild_id` for a guild sound (needed
    for another guild's; USE_EXTERNAL_SOUNDS then). Reply: `Done` or `BridgeFailure`."""

    channel_id: int
    sound_id: int
    source_guild_id: int | None = None


def sound_info(raw: dict[str, Any]) -> SoundInfo:
    guild = raw.get("guild_id")
    return SoundInfo(
        sound_id=int(raw["sound_id"]),
        name=str(raw["name"]),
        guild_id=None if guild is None else int(guild),
        emoji_name=raw.get("emoji_name"),
        volume=float(raw.get("volume", 1.0)),
        available=bool(raw.get("available", True)),
    )


class SoundboardCommands:
    """The bridge's soundboard handlers (mixed into `DiscordBridge`)."""

    @handles(ListSoundboardSounds)
    async def list_sounds(self, cmd: ListSoundboardSounds) -> BridgeFailure | None:
        bridge = cast("DiscordBridge", self)
        return bridge._in_lane(
            cmd.guild_id, "ListSoundboardSounds", lambda: bridge._list_sounds(cmd)
        )

    @_answered("ListSoundboardSounds")
    async def _list_sounds(
        self: DiscordBridge, cmd: ListSoundboardSounds
    ) -> SoundboardSounds | BridgeFailure:
        if self.client is None:
            raise ConnectionError("not logged in to Discord yet")
        http = self.client.http
        route = Route("GET", "/guilds/{guild_id}/soundboard-sounds", guild_id=cmd.guild_id)
        own = await self._call("ListSoundboardSounds", http.request, route)
        if isinstance(own, BridgeFailure):
            return own
        defaults = await self._call(
            "ListSoundboardSounds", http.request, Route("GET", "/soundboard-default-sounds")
        )
        if isinstance(defaults, BridgeFailure):
            return defaults
        try:
            items = [*own["items"], *defaults]
            return SoundboardSounds(sounds=tuple(sound_info(s) for s in items))
        except (KeyError, TypeError, ValueError) as exc:
            return BridgeFailure(
                command="ListSoundboardSounds",
                status=None,
                code=None,
                detail=f"Discord's sound list was not understood: {type(exc).__name__}: {exc}",
            )

    @handles(PlaySoundboardSound)
    async def play_sound(self, cmd: PlaySoundboardSound) -> BridgeFailure | None:
        bridge = cast("DiscordBridge", self)
        return bridge._in_lane(cmd.channel_id, "PlaySoundboardSound", lambda: bridge._play(cmd))

    @_answered("PlaySoundboardSound")
    async def _play(self: DiscordBridge, cmd: PlaySoundboardSound) -> Done | BridgeFailure:
        if self.client is None:
            raise ConnectionError("not logged in to Discord yet")
        body: dict[str, str] = {"sound_id": str(cmd.sound_id)}
        if cmd.source_guild_id is not None:
            body["source_guild_id"] = str(cmd.source_guild_id)
        route = Route(
            "POST", "/channels/{channel_id}/send-soundboard-sound", channel_id=cmd.channel_id
        )
        result = await self._call("PlaySoundboardSound", self.client.http.request, route, json=body)
        return result if isinstance(result, BridgeFailure) else Done()


__all__ = [
    "ListSoundboardSounds",
    "PlaySoundboardSound",
    "SoundInfo",
    "SoundboardCommands",
    "SoundboardSounds",
]
