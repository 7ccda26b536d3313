"""The sandbox's soundboard: Discord's default sounds, guild sounds, and who may play them.

What Discord does (its Soundboard resource): `GET /soundboard-default-sounds` lists the sounds
everyone has; `GET /guilds/{guild_id}/soundboard-sounds` answers `{"items": [...]}` with a
guild's own; `POST /channels/{channel_id}/send-soundboard-sound` `{sound_id, source_guild_id?}`
plays one in a voice channel the caller is connected to, which needs SPEAK and USE_SOUNDBOARD
there (and USE_EXTERNAL_SOUNDS for another guild's sound) and a voice state that is neither
muted nor deafened; it answers 204 and dispatches VOICE_CHANNEL_EFFECT_SEND to the channel's
members. The sandbox has no roles: every member has every permission unless a test denies it
in a channel (`deny`, like a member's permission overwrite). Refusals (status, JSON code):
unknown channel 404/10003, not a voice channel 400/50024, unknown sound 404/10097, a missing
permission 403/50013, not connected to that channel 400/40032 ("Target user is not connected
to voice"), muted or deafened 403/50013. The codes of the last two are the sandbox's choice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SPEAK = "SPEAK"
USE_SOUNDBOARD = "USE_SOUNDBOARD"
USE_EXTERNAL_SOUNDS = "USE_EXTERNAL_SOUNDS"
PERMISSIONS = (SPEAK, USE_SOUNDBOARD, USE_EXTERNAL_SOUNDS)


@dataclass(frozen=True)
class SoundboardSound:
    sound_id: int
    name: str
    volume: float = 1.0
    emoji_name: str | None = None
    emoji_id: int | None = None
    guild_id: int | None = None  # None: one of Discord's default sounds
    available: bool = True
    user_id: int | None = None  # who uploaded it (guild sounds)


# Discord's default sounds have small integer ids.
DEFAULT_SOUNDS = (
    SoundboardSound(1, "quack", emoji_name="🦆"),
    SoundboardSound(2, "airhorn", emoji_name="🔊"),
    SoundboardSound(3, "cricket", emoji_name="🦗"),
    SoundboardSound(4, "golf clap", emoji_name="⛳"),
    SoundboardSound(5, "sad horn", emoji_name="🎺"),
    SoundboardSound(7, "ba dum tss", emoji_name="🥁"),
)


@dataclass(frozen=True)
class SoundEffect:
    """A sound someone played (what members connected to the channel were sent)."""

    channel_id: int
    guild_id: int
    user_id: int
    sound: SoundboardSound


class SoundboardRefused(Exception):
    """Discord would refuse: `status` and JSON `code` for the REST answer."""

    def __init__(self, message: str, *, status: int, code: int) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass
class Soundboard:
    """The world's sounds, the denied permissions, and every sound played (oldest first)."""

    guild_sounds: dict[int, list[SoundboardSound]] = field(default_factory=dict)
    denied: dict[tuple[int, int], set[str]] = field(default_factory=dict)  # (channel, user)
    played: list[SoundEffect] = field(default_factory=list)

    def add(self, sound: SoundboardSound) -> SoundboardSound:
        assert sound.guild_id is not None, "a guild sound needs its guild"
        self.guild_sounds.setdefault(sound.guild_id, []).append(sound)
        return sound

    def deny(self, channel_id: int, user_id: int, *permissions: str) -> None:
        """Deny `permissions` to `user_id` in `channel_id` (a member permission overwrite)."""
        unknown = set(permissions) - set(PERMISSIONS)
        if unknown:
            raise ValueError(f"unknown permission(s) {sorted(unknown)}; known: {PERMISSIONS}")
        self.denied.setdefault((channel_id, user_id), set()).update(permissions)

    def allow(self, channel_id: int, user_id: int) -> None:
        self.denied.pop((channel_id, user_id), None)

    def find(self, sound_id: int, guild_id: int | None) -> SoundboardSound | None:
        pool = DEFAULT_SOUNDS if guild_id is None else self.guild_sounds.get(guild_id, ())
        return next((s for s in pool if s.sound_id == sound_id), None)

    def check(
        self,
        *,
        user_id: int,
        channel_id: int,
        channel_guild_id: int,
        connected_channel_id: int | None,
        muted: bool,
        deafened: bool,
        sound_id: int,
        source_guild_id: int | None,
    ) -> SoundboardSound:
        """The sound to play, or `SoundboardRefused` saying why not (Discord's checks)."""
        # without source_guild_id: a default sound, or one of the channel's guild
        sound = (
            self.find(sound_id, source_guild_id)
            if source_guild_id is not None
            else self.find(sound_id, None) or self.find(sound_id, channel_guild_id)
        )
        if sound is None:
            raise SoundboardRefused(f"Unknown Sound: {sound_id}", status=404, code=10097)
        denied = self.denied.get((channel_id, user_id), set())
        needed = [SPEAK, USE_SOUNDBOARD]
        if sound.guild_id is not None and sound.guild_id != channel_guild_id:
            needed.append(USE_EXTERNAL_SOUNDS)
        missing = [p for p in needed if p in denied]
        if missing:
            raise SoundboardRefused(
                f"Missing Permissions: {', '.join(missing)}", status=403, code=50013
            )
        if connected_channel_id != channel_id:
            raise SoundboardRefused(
                "Target user is not connected to voice.", status=400, code=40032
            )
        if muted or deafened:
            raise SoundboardRefused(
                "Missing Permissions: a muted or deafened user cannot play sounds",
                status=403,
                code=50013,
            )
        if not sound.available:
            raise SoundboardRefused(f"Unknown Sound: {sound_id}", status=404, code=10097)
        return sound


def sound_json(sound: SoundboardSound, uploader: dict[str, Any] | None = None) -> dict[str, Any]:
    """A soundboard sound object as Discord sends it."""
    body: dict[str, Any] = {
        "sound_id": str(sound.sound_id),
        "name": sound.name,
        "volume": sound.volume,
        "emoji_id": None if sound.emoji_id is None else str(sound.emoji_id),
        "emoji_name": sound.emoji_name,
        "available": sound.available,
    }
    if sound.guild_id is not None:
        body["guild_id"] = str(sound.guild_id)
    if uploader is not None:
        body["user"] = uploader
    return body


def effect_json(effect: SoundEffect) -> dict[str, Any]:
    """The VOICE_CHANNEL_EFFECT_SEND dispatch of a played sound."""
    s = effect.sound
    emoji = (
        None
        if s.emoji_name is None and s.emoji_id is None
        else {
            "id": None if s.emoji_id is None else str(s.emoji_id),
            "name": s.emoji_name,
        }
    )
    return {
        "channel_id": str(effect.channel_id),
        "guild_id": str(effect.guild_id),
        "user_id": str(effect.user_id),
        "emoji": emoji,
        "animation_type": 0,
        "animation_id": 0,
        "sound_id": str(s.sound_id),
        "sound_volume": s.volume,
    }
