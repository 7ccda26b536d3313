"""Voice requests in text (sans-IO)."""

from __future__ import annotations

import pytest

from clanker.guilds.voice_commands import Addressee, VoiceRequest, voice_request

BOT = Addressee(user_id=42, names=("clanker",))


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("clanker, come to voice", VoiceRequest.JOIN),
        ("<@42> join vc please", VoiceRequest.JOIN),
        ("hey Clanker hop in the call", VoiceRequest.JOIN),
        ("clanker leave voice", VoiceRequest.LEAVE),
        ("<@!42> please hang up the call", VoiceRequest.LEAVE),
        ("come to voice", None),  # not addressed
        ("clanker, come here", None),  # no voice
        ("clankers join voice", None),  # not the bot's name as a word
        ("clanker, is voice chat fun?", None),  # neither join nor leave
    ],
)
def test_voice_requests(text: str, want: VoiceRequest | None) -> None:
    assert voice_request(text, BOT) is want
