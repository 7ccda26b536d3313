"""realtimesim: a local server speaking the OpenAI Realtime WebSocket API's GA events.

A client connects over a real WebSocket (127.0.0.1, an ephemeral port), configures the
session, streams audio or text turns in, and each ``response.create`` takes the next scripted
turn: spoken audio with its transcript (deterministic tones, paced on trio time so cancel and
truncate can land mid-answer), a function call, or a failure (an error event, a dropped
socket). Every client event and every server event is recorded for assertions. See
docs/voice-realtime.md, "The sim".

Beside it, on the same script and records: `XaiRealtimeSim` (xAI's Grok Voice Agent dialect,
``xai_*.py``), `ElevenLabsAgentSim` (an ElevenLabs agent, which takes turns itself,
``elevenlabs_*.py``) and `open_gemini_live_sim` (the Gemini Live wire format, ``gemini_*``
modules; docs/voice-realtime.md, "The Gemini sim").
"""

from clanker.realtimesim.elevenlabs_server import (
    ElevenLabsAgentSim,
    ElevenLabsConnection,
    open_elevenlabs_agent_sim,
)
from clanker.realtimesim.gemini_record import GeminiSimConnection, SimActivity, gemini_echo
from clanker.realtimesim.gemini_server import GeminiLiveSim, open_gemini_live_sim
from clanker.realtimesim.script import (
    RATE,
    CallTool,
    Fail,
    Responder,
    Say,
    SimConnection,
    SimResponse,
    SimUsage,
    Turn,
    echo,
)
from clanker.realtimesim.server import RealtimeSim, open_openai_realtime_sim
from clanker.realtimesim.xai_server import XaiRealtimeSim, open_xai_realtime_sim

__all__ = [
    "RATE",
    "CallTool",
    "ElevenLabsAgentSim",
    "ElevenLabsConnection",
    "Fail",
    "GeminiLiveSim",
    "GeminiSimConnection",
    "RealtimeSim",
    "Responder",
    "Say",
    "SimActivity",
    "SimConnection",
    "SimResponse",
    "SimUsage",
    "Turn",
    "XaiRealtimeSim",
    "echo",
    "gemini_echo",
    "open_elevenlabs_agent_sim",
    "open_gemini_live_sim",
    "open_openai_realtime_sim",
    "open_xai_realtime_sim",
]
