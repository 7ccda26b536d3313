"""The voice reply prompt, sans-IO: who spoke, the room, the voice transcript so far, recent
text in the linked channel, and what the bot was saying when it was cut off."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from clanker.voice.brain.turns import RoomTurn

SKIP = "[SKIP]"
VOICE_MARKER = "You are in a Discord voice call"
"""The first words of every voice system prompt (the offline demo brain looks for them)."""
JOIN_EVENT = "[YOU joined the voice channel]"
"""The synthetic event of a join greeting (source `bot_join_greeting`)."""


@dataclass(frozen=True, slots=True)
class Line:
    speaker: str
    text: str


@dataclass(frozen=True, slots=True)
class Interruption:
    heard: str  # what the members heard before they cut in
    meant: str  # the whole reply as it was being said
    by: str  # who cut in


def system_prompt(
    *, bot_name: str, channel_name: str, persona: str, speakers: int, soundboard: str = ""
) -> str:
    parts = [
        f"{VOICE_MARKER} as {bot_name}, in the channel {channel_name!r}, with {speakers} "
        "other member(s) talking.",
        "What you write is spoken aloud by a speech synthesizer: answer in plain spoken "
        "sentences, usually one to three, no lists, no markdown, no emoji, no URLs.",
        f"If the members are talking among themselves and you have nothing worth saying, "
        f"answer exactly {SKIP} and nothing else.",
    ]
    if soundboard:
        parts.append(soundboard)
    if persona.strip():
        parts.insert(0, persona.strip())
    return "\n\n".join(parts)


def user_prompt(
    *,
    turn: RoomTurn,
    history: Sequence[Line],
    text_channel: Sequence[Line],
    interrupted: Interruption | None,
    remembered: str | None = None,
) -> str:
    out: list[str] = []
    if remembered:
        out.append("What you remember (use it naturally, do not recite it):")
        out += [line for line in remembered.splitlines() if line.startswith("- ")]
        out.append("")
    if text_channel:
        out.append("Recent text in the linked text channel:")
        out += [f"{line.speaker}: {line.text}" for line in text_channel]
        out.append("")
    if history:
        out.append("The voice conversation so far:")
        out += [f"{line.speaker}: {line.text}" for line in history]
        out.append("")
    if interrupted is not None:
        out.append(
            f"You were cut off by {interrupted.by}. They heard only: "
            f"{interrupted.heard or '(nothing)'!r} of what you meant to say: "
            f"{interrupted.meant!r}."
        )
        out.append("")
    out.append("Just said (speech recognition, may have errors):")
    out += [f"{u.name}: {u.text.strip()}" for u in turn.utterances]
    if turn.addressed:
        out.append("")
        out.append("They are talking to you directly.")
    return "\n".join(out)


def greeting_prompt(*, history: Sequence[Line], text_channel: Sequence[Line]) -> str:
    """The prompt of a join greeting: the context, then the synthetic join event."""
    out: list[str] = []
    if text_channel:
        out.append("Recent text in the linked text channel:")
        out += [f"{line.speaker}: {line.text}" for line in text_channel]
        out.append("")
    if history:
        out.append("The voice conversation so far:")
        out += [f"{line.speaker}: {line.text}" for line in history]
        out.append("")
    out.append(JOIN_EVENT)
    out.append("")
    out.append(
        f"Greet the call in one short spoken sentence, or answer exactly {SKIP} to join quietly."
    )
    return "\n".join(out)


def skip_state(text: str) -> bool | None:
    """True when the reply so far is the skip marker, False when it cannot be, None while the
    first characters still could become it."""
    head = text.lstrip()
    if head.startswith(SKIP):
        return True
    if SKIP.startswith(head):
        return None
    return False
