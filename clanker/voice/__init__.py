"""The Python side of the clankvox pipe.

clankvox (the Rust media plane) runs as one child process per voice session, driven by JSON
lines on its stdin (`commands`) and answering with length-prefixed frames on its stdout
(`events`). `framing` is the sans-IO codec; `Clankvox` spawns the process and owns its stdin;
`PipeReader` turns its stdout into typed events for a target actor; `voice_session_spec` puts
both under one one_for_all supervisor so a crashed or killed clankvox restarts the session.
`VoiceLink` (around the sans-IO `VoiceJoin`) is that target: it joins through the Discord
bridge, connects clankvox, re-sends the join after a restart, and serves speech and listening;
`voice_link_spec` builds the whole connection. See docs/voice.md and docs/sandbox-voice.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from clanker._lazy import lazy_exports

if TYPE_CHECKING:  # the same names, imported on first use at run time (clanker/_lazy.py)
    from clanker.voice import commands, events
    from clanker.voice.clankvox import Clankvox, ClankvoxCrashed
    from clanker.voice.commands import AnyCommand, ClankvoxCommand
    from clanker.voice.events import AnyEvent, AnyJsonEvent, ClankvoxEvent, UserAudio
    from clanker.voice.framing import (
        ClankvoxFrameDecoder,
        FrameFormat,
        FrameStats,
        decode_command,
        encode_command,
        encode_event_frame,
        encode_frame,
    )
    from clanker.voice.join import GatewayVoiceState, JoinPhase, Subscription, VoiceJoin
    from clanker.voice.link import VoiceLink, VoiceLinkConfig, VoiceLinkFailed
    from clanker.voice.link_messages import (
        GetHeard,
        GetVoiceLinkStatus,
        GetVoiceLog,
        Heard,
        Listening,
        ListenTo,
        SpeakPcm,
        SpeechQueued,
        StopListening,
        StopSpeaking,
        VoiceLinkStatus,
        VoiceLog,
        VoiceLogEntry,
    )
    from clanker.voice.messages import (
        ClankvoxExited,
        ClankvoxStarted,
        ClankvoxStatus,
        GetClankvoxStatus,
        GetPipeStats,
        PipeClosed,
        PipeStats,
    )
    from clanker.voice.pipe import ClankvoxPipe, PipeNotAttached
    from clanker.voice.pipe_reader import PipeBroken, PipeReader
    from clanker.voice.session_spec import (
        DEFAULT_BINARY,
        voice_link_spec,
        voice_session_child,
        voice_session_spec,
    )

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "commands": "clanker.voice.commands",
        "events": "clanker.voice.events",
        "Clankvox": "clanker.voice.clankvox",
        "ClankvoxCrashed": "clanker.voice.clankvox",
        "AnyCommand": "clanker.voice.commands",
        "ClankvoxCommand": "clanker.voice.commands",
        "AnyEvent": "clanker.voice.events",
        "AnyJsonEvent": "clanker.voice.events",
        "ClankvoxEvent": "clanker.voice.events",
        "UserAudio": "clanker.voice.events",
        "ClankvoxFrameDecoder": "clanker.voice.framing",
        "FrameFormat": "clanker.voice.framing",
        "FrameStats": "clanker.voice.framing",
        "decode_command": "clanker.voice.framing",
        "encode_command": "clanker.voice.framing",
        "encode_event_frame": "clanker.voice.framing",
        "encode_frame": "clanker.voice.framing",
        "GatewayVoiceState": "clanker.voice.join",
        "JoinPhase": "clanker.voice.join",
        "Subscription": "clanker.voice.join",
        "VoiceJoin": "clanker.voice.join",
        "VoiceLink": "clanker.voice.link",
        "VoiceLinkConfig": "clanker.voice.link",
        "VoiceLinkFailed": "clanker.voice.link",
        "GetHeard": "clanker.voice.link_messages",
        "GetVoiceLinkStatus": "clanker.voice.link_messages",
        "GetVoiceLog": "clanker.voice.link_messages",
        "Heard": "clanker.voice.link_messages",
        "Listening": "clanker.voice.link_messages",
        "ListenTo": "clanker.voice.link_messages",
        "SpeakPcm": "clanker.voice.link_messages",
        "SpeechQueued": "clanker.voice.link_messages",
        "StopListening": "clanker.voice.link_messages",
        "StopSpeaking": "clanker.voice.link_messages",
        "VoiceLinkStatus": "clanker.voice.link_messages",
        "VoiceLog": "clanker.voice.link_messages",
        "VoiceLogEntry": "clanker.voice.link_messages",
        "ClankvoxExited": "clanker.voice.messages",
        "ClankvoxStarted": "clanker.voice.messages",
        "ClankvoxStatus": "clanker.voice.messages",
        "GetClankvoxStatus": "clanker.voice.messages",
        "GetPipeStats": "clanker.voice.messages",
        "PipeClosed": "clanker.voice.messages",
        "PipeStats": "clanker.voice.messages",
        "ClankvoxPipe": "clanker.voice.pipe",
        "PipeNotAttached": "clanker.voice.pipe",
        "PipeBroken": "clanker.voice.pipe_reader",
        "PipeReader": "clanker.voice.pipe_reader",
        "DEFAULT_BINARY": "clanker.voice.session_spec",
        "voice_link_spec": "clanker.voice.session_spec",
        "voice_session_child": "clanker.voice.session_spec",
        "voice_session_spec": "clanker.voice.session_spec",
    },
)

__all__ = [
    "DEFAULT_BINARY",
    "AnyCommand",
    "AnyEvent",
    "AnyJsonEvent",
    "Clankvox",
    "ClankvoxCommand",
    "ClankvoxCrashed",
    "ClankvoxEvent",
    "ClankvoxExited",
    "ClankvoxFrameDecoder",
    "ClankvoxPipe",
    "ClankvoxStarted",
    "ClankvoxStatus",
    "FrameFormat",
    "FrameStats",
    "GatewayVoiceState",
    "GetClankvoxStatus",
    "GetHeard",
    "GetPipeStats",
    "GetVoiceLinkStatus",
    "GetVoiceLog",
    "Heard",
    "JoinPhase",
    "ListenTo",
    "Listening",
    "PipeBroken",
    "PipeClosed",
    "PipeNotAttached",
    "PipeReader",
    "PipeStats",
    "SpeakPcm",
    "SpeechQueued",
    "StopListening",
    "StopSpeaking",
    "Subscription",
    "UserAudio",
    "VoiceJoin",
    "VoiceLink",
    "VoiceLinkConfig",
    "VoiceLinkFailed",
    "VoiceLinkStatus",
    "VoiceLog",
    "VoiceLogEntry",
    "commands",
    "decode_command",
    "encode_command",
    "encode_event_frame",
    "encode_frame",
    "events",
    "voice_link_spec",
    "voice_session_child",
    "voice_session_spec",
]
