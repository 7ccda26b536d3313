"""The sandbox voice server: Discord's voice gateway (v8) and UDP media, on loopback.

`open_voice_server()` (or `open_sandbox(...)`, which starts one and points op 4 answers at it)
serves a plain-websocket voice gateway and a UDP socket speaking the `*_rtpsize` AEAD modes and
Opus. Scripts play simulated members' audio into the channel (`VoiceServer.play`) and read back
what a client sent (`received_pcm`, `jitter_stats`). See docs/sandbox-voice.md.

The sans-IO rooms: `session` (the gateway state machine) and `session_state` (its actions and
sessions), `crypto`, `rtp`, `discovery`, `playback`, `recording`. The I/O: `server` (websocket
gateway and scripting API) and `media` (the UDP socket). `opus` binds libopus; `audio` makes and
reads PCM.
"""

from clanker.sandbox.voice.audio import (
    AudioError,
    Pcm,
    chirp,
    goertzel_power,
    read_wav,
    silence,
    speech,
    tone,
    write_wav,
)
from clanker.sandbox.voice.crypto import DecryptError, TransportCipher, TransportMode
from clanker.sandbox.voice.media import MediaStats
from clanker.sandbox.voice.ops import VoiceCloseCode, VoiceGrant, VoiceOp
from clanker.sandbox.voice.opus import OpusDecoder, OpusEncoder, OpusError
from clanker.sandbox.voice.recording import JitterStats, ReceivedPacket, StreamRecording
from clanker.sandbox.voice.server import (
    NoVoiceSession,
    PlaybackReport,
    VoiceServer,
    open_voice_server,
)
from clanker.sandbox.voice.session import VoiceGateway, VoiceGatewayStats, VoiceSession

__all__ = [
    "AudioError",
    "DecryptError",
    "JitterStats",
    "MediaStats",
    "NoVoiceSession",
    "OpusDecoder",
    "OpusEncoder",
    "OpusError",
    "Pcm",
    "PlaybackReport",
    "ReceivedPacket",
    "StreamRecording",
    "TransportCipher",
    "TransportMode",
    "VoiceCloseCode",
    "VoiceGateway",
    "VoiceGatewayStats",
    "VoiceGrant",
    "VoiceOp",
    "VoiceServer",
    "VoiceSession",
    "chirp",
    "goertzel_power",
    "open_voice_server",
    "read_wav",
    "silence",
    "speech",
    "tone",
    "write_wav",
]
