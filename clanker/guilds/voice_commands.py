"""Voice requests in text, sans-IO: "clanker, come to voice" / "@clanker leave voice".

A request must address the bot (a mention of its id, or its name as a word) and name voice
(`voice`, `vc`, `call`, `lounge`-like channel names are not guessed). Join words: join, come,
hop, get in; leave words: leave, go, get out, disconnect, hang up. Anything else is None: the
message is for the text brain only.

Music in text (`music_request`): "clanker, play the test tune", "@clanker skip", and, without
naming the bot, the commands that name the music ("pause the music", "stop the music", "skip
this song", "what song is this"). The guild session hands them to the call's voice brain.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from clanker.voice.brain.music import MusicCommand, MusicVerb, parse_music_command


class VoiceRequest(StrEnum):
    JOIN = "join"
    LEAVE = "leave"


_VOICE = re.compile(r"\b(voice|vc|call|voice chat|voice channel)\b", re.IGNORECASE)
_JOIN = re.compile(r"\b(join|come|hop|get in|jump in)\b", re.IGNORECASE)
_LEAVE = re.compile(r"\b(leave|get out|disconnect|hang up|go away|drop)\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Addressee:
    user_id: int
    names: tuple[str, ...]


def voice_request(content: str, bot: Addressee) -> VoiceRequest | None:
    """What `content` asks of the bot's voice presence, if anything."""
    if not _addressed(content, bot):
        return None
    if not _VOICE.search(content):
        return None
    if _LEAVE.search(content):
        return VoiceRequest.LEAVE
    if _JOIN.search(content):
        return VoiceRequest.JOIN
    return None


def _addressed(content: str, bot: Addressee) -> bool:
    if f"<@{bot.user_id}>" in content or f"<@!{bot.user_id}>" in content:
        return True
    return any(
        name and re.search(rf"(?<!\w){re.escape(name)}(?!\w)", content, re.IGNORECASE)
        for name in bot.names
    )


_UNADDRESSED_OK = {MusicVerb.PAUSE, MusicVerb.RESUME, MusicVerb.SKIP, MusicVerb.STOP, MusicVerb.NOW}


def music_request(content: str, bot: Addressee) -> tuple[MusicCommand, bool] | None:
    """The music command in `content` and whether it addressed the bot, or None. Unaddressed,
    only the commands that name the music count ("pause the music", not "pause")."""
    cmd = parse_music_command(content, bot.names)
    if cmd is None:
        return None
    if _addressed(content, bot):
        return cmd, True
    if cmd.musical and cmd.verb in _UNADDRESSED_OK:
        return cmd, False
    return None
