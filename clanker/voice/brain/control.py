"""Messages that steer a running voice brain from outside it, importable without loading the
brain itself (the guild session imports the brain lazily)."""

from __future__ import annotations

from clanker.wire import Message


class SetBrainMuted(Message, frozen=True):
    """Mute (or unmute) the voice brain: while muted it hears, transcribes and logs every
    turn, but says nothing (no replies, greeting or spoken confirmations; what it was saying
    is cut off). Told, by the guild session that keeps the mute."""

    muted: bool
