"""voicesim: a local server speaking the cloud speech providers' real wire formats.

OpenAI's ``/v1/audio/transcriptions`` (multipart upload, scripted transcripts, logprobs) and
``/v1/audio/speech`` (streamed PCM), and ElevenLabs' ``/v1/text-to-speech/{voice_id}/stream``
(streamed PCM), on 127.0.0.1 at an ephemeral port, so the `openai` SDK and httpx make real
HTTP calls to it. Speech is a deterministic tone pattern (60 ms per character) streamed in
several chunks with gaps, cut mid-sample on purpose; errors come in each provider's own JSON
shape; every request is recorded. See docs/voice-cloud.md, "voicesim".
"""

from clanker.voicesim._multipart import FormPart, MultipartError, boundary_of, parse_multipart
from clanker.voicesim._pcm import MS_PER_CHAR, SimAudio, speech_pcm
from clanker.voicesim.script import (
    Disconnect,
    RecordedAudioRequest,
    SimError,
    SimTranscript,
    Stall,
    duration_transcript,
    server_error,
)
from clanker.voicesim.server import VoiceSim, open_voicesim

__all__ = [
    "MS_PER_CHAR",
    "Disconnect",
    "FormPart",
    "MultipartError",
    "RecordedAudioRequest",
    "SimAudio",
    "SimError",
    "SimTranscript",
    "Stall",
    "VoiceSim",
    "boundary_of",
    "duration_transcript",
    "open_voicesim",
    "parse_multipart",
    "server_error",
    "speech_pcm",
]
