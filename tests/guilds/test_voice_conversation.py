"""The live `voice.conversation` settings become the voice brain's turn-taking at a join."""

from __future__ import annotations

from clanker.guilds.session import _conversation
from clanker.settings import Settings
from clanker.settings.model import Voice, VoiceConversation
from clanker.voice.brain.bargein import BargeInPolicy
from clanker.voice.brain.config import VoiceBrainOptions, local_voice_models


def options() -> VoiceBrainOptions:
    return VoiceBrainOptions(load_models=lambda _s: local_voice_models())


def test_without_settings_the_options_stand() -> None:
    got = _conversation(options(), None)
    assert got["barge_in"].policy is BargeInPolicy.SPEAKER
    assert (got["command_only"], got["idle_leave"], got["max_duration"]) == (False, 300.0, 3600.0)


def test_the_settings_choose_and_zero_means_no_limit() -> None:
    conversation = VoiceConversation(
        barge_in="anyone", command_only=True, idle_leave_seconds=0, max_call_seconds=120
    )
    settings = Settings(voice=Voice(conversation=conversation))
    got = _conversation(options(), settings)
    assert got["barge_in"].policy is BargeInPolicy.ANYONE
    assert got["barge_in"].echo_guard == 1.0  # the rest of the barge-in config is kept
    assert (got["command_only"], got["idle_leave"], got["max_duration"]) == (True, None, 120.0)


def test_the_join_greeting_is_the_products_and_the_settings_can_turn_it_off() -> None:
    from clanker.voice.brain.config import default_brain_options

    product = default_brain_options()
    assert _conversation(product, None)["join_greeting"] is True
    assert _conversation(product, Settings())["join_greeting"] is True
    off = Settings(voice=Voice(conversation=VoiceConversation(join_greeting=False)))
    assert _conversation(product, off)["join_greeting"] is False
    assert _conversation(options(), Settings())["join_greeting"] is False  # opted out


def test_the_music_library_comes_from_the_settings_or_the_options() -> None:
    from dataclasses import replace

    from clanker.settings.model import VoiceMusicSettings

    sandbox = replace(options(), music_library="/tmp/sandbox-tones")
    assert _conversation(sandbox, None)["music_library"] == "/tmp/sandbox-tones"
    assert _conversation(sandbox, Settings())["music_library"] == "/tmp/sandbox-tones"
    mine = Settings(voice=Voice(music=VoiceMusicSettings(library_dir="/srv/music")))
    assert _conversation(sandbox, mine)["music_library"] == "/srv/music"
    assert _conversation(options(), Settings())["music_library"] is None
