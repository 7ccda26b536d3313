"""How a voice brain is set up: its models, names, policies and peers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from clanker.settings import Settings
from clanker.text.tool_registry import ToolRegistry
from clanker.voice.brain.bargein import BargeInConfig
from clanker.voice.brain.capture import CaptureConfig
from clanker.voice.brain.music import MusicConfig
from clanker.voice.models.base import SpeechSynth, Transcriber, TurnDetector, VadFactory


@dataclass(frozen=True)
class VoiceModels:
    """The four models a voice brain uses (local by default; see clanker.voice.models)."""

    vad_factory: VadFactory
    turn: TurnDetector
    transcriber: Transcriber
    synth: SpeechSynth


def voice_brain_name(guild_key: str) -> str:
    """The registered name of a guild's voice brain."""
    return f"voice_brain:{guild_key}"


@dataclass(frozen=True)
class VoiceBrainConfig:
    guild_id: int
    channel_id: int  # the voice channel
    bot_user_id: int
    link: str  # the VoiceLink's registered name
    name: str  # this brain's registered name (where the link and the Llm deliver)
    models: VoiceModels  # loaded before the brain starts (once per process; restarts reuse them)
    bot_names: tuple[str, ...] = ("clanker",)  # the name and aliases that address the bot
    member_names: Mapping[int, str] = field(default_factory=dict)
    channel_name: str = "voice"
    persona: str = ""
    llm: str = "llm"
    store: str | None = "store"
    text_channel_id: int | None = None  # the linked text channel (its recent text is context)
    capture: CaptureConfig = field(default_factory=CaptureConfig)
    # Transcribe the audio so far at the VAD stop, beside the end-of-turn model; used when the
    # turn ends with no audio since (capture.py), else recognised afresh
    speculative_asr: bool = True
    barge_in: BargeInConfig = field(default_factory=BargeInConfig)
    command_only: bool = False
    hold_max: float = 4.0  # seconds an utterance waits for others to finish
    reply_max_tokens: int = 300
    reply_timeout: float = 30.0
    history_lines: int = 24  # voice transcript lines in the prompt
    text_lines: int = 10  # lines of the linked text channel in the prompt
    input_rate: int = 16_000  # what clankvox is asked to deliver (the models' rate)
    silence_duration_ms: int = 1500  # clankvox's own user_audio_end, behind our end of turn
    session: str | None = None  # the guild session, asked to leave (None: never leaves)
    muted: bool = False  # the operator's mute when the call began (a restart asks `session`)
    idle_leave: float | None = 300.0  # seconds with nobody speaking and the bot quiet: leave
    max_duration: float | None = 3600.0  # seconds in a call at most
    join_greeting: bool = False  # greet on joining (the product's default is on: settings)
    bridge: str | None = None  # the Discord bridge's name: the soundboard (None: no soundboard)
    music: MusicConfig = field(default_factory=MusicConfig)
    # The tools a voice answer may call (`tool_step.voice_tool_registry`; None: none).
    tools: ToolRegistry | None = field(default=None, compare=False)
    music_library: str | None = None  # a directory of audio files played by title
    # Long-term memory's registered name: each answer's prompt gets what is remembered about
    # the speakers and the guild (None, or no such actor: none).
    memory: str | None = None


@dataclass(frozen=True)
class VoiceBrainOptions:
    """What a guild session needs to give each voice connection a brain (`VoiceConfig.brain`).

    `load_models` is blocking (seconds on first use) and must cache: the session calls it in a
    worker thread on every join, with the live settings then in force (None when the settings
    actor is not running), and restarts of the brain reuse what it returned. The live settings
    also give the brain its persona (`persona.flavor`) and the bot's aliases
    (`identity.aliases`), added to `persona` and `aliases` here.
    """

    load_models: Callable[[Settings | None], VoiceModels]
    llm: str = "llm"
    store: str | None = "store"
    persona: str = ""
    aliases: tuple[str, ...] = ()  # more names that address the bot, besides its user name
    capture: CaptureConfig = field(default_factory=CaptureConfig)
    speculative_asr: bool = True  # VoiceBrainConfig.speculative_asr
    barge_in: BargeInConfig = field(default_factory=BargeInConfig)
    command_only: bool = False
    idle_leave: float | None = 300.0
    max_duration: float | None = 3600.0
    join_greeting: bool = False  # the product's options greet (default_brain_options)
    music_library: str | None = None  # used when the settings name none (voice.music)
    memory: str | None = "memory"  # the memory service (clanker.memory.service.MEMORY_NAME)


def local_voice_models() -> VoiceModels:
    """The local models (silero, smart-turn, Whisper tiny.en, Piper) as the brain's bundle;
    blocking and cached (loads once per process)."""
    from clanker.voice.models.local import load_local_models

    m = load_local_models()
    return VoiceModels(
        vad_factory=m.vad_factory, turn=m.turn, transcriber=m.transcriber, synth=m.synth
    )


def settings_voice_models(settings: Settings | None) -> VoiceModels:
    """The models the live settings choose (`voice.asr` / `voice.tts`: local by default, or a
    cloud provider with its key from the environment); local when there are no settings."""
    if settings is None:
        return local_voice_models()
    from clanker.voice.models.select import load_voice_models

    return load_voice_models(settings)


def default_brain_options() -> VoiceBrainOptions:
    """The product's voice brain: the models the settings choose (local, no key, by default)."""
    return VoiceBrainOptions(load_models=settings_voice_models, join_greeting=True)
