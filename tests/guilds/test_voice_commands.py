"""Voice requests in text (sans-IO)."""

from __future__ import annotations

import pytest

from clanker.guilds.voice_commands import Addressee, VoiceRequest, music_request, voice_request

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


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("clanker, play the test tune", ("play", "the test tune", True)),
        ("<@42> skip", ("skip", "", True)),
        ("Clanker add second song", ("add", "second song", True)),
        ("pause the music", ("pause", "", False)),  # names the music: no address needed
        ("stop the music please", ("stop", "", False)),
        ("what song is this?", ("now_playing", "", False)),
        ("skip", None),  # neither addressed nor naming music
        ("play the test tune", None),
        ("pause", None),
        ("clanker, what is the capital of France?", None),
    ],
)
def test_music_requests(text: str, want: tuple[str, str, bool] | None) -> None:
    got = music_request(text, BOT)
    assert (None if got is None else (got[0].verb.value, got[0].query, got[1])) == want
