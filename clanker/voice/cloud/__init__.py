"""Cloud speech providers for the voice brain, behind the protocols of
`clanker.voice.models.base`: `OpenAiTranscriber` (a `Transcriber`), `OpenAiSpeech` and
`ElevenLabsSpeech` (`SpeechSynth`s), built from the settings by `cloud_transcriber` /
`cloud_synth` (`transcriber_choice` / `synth_choice` say what they build from: a cache key).
Failures are `CloudSpeechError` (a `ModelError`). The SDK and httpx are imported when a
provider is built. See docs/voice-cloud.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from clanker._lazy import lazy_exports

if TYPE_CHECKING:  # the same names, imported on first use at run time (clanker/_lazy.py)
    from clanker.voice.cloud._audio import SampleAligner, wav_bytes
    from clanker.voice.cloud.elevenlabs_tts import ElevenLabsSpeech, VoiceSettings
    from clanker.voice.cloud.errors import CloudConfigError, CloudSpeechError
    from clanker.voice.cloud.factory import (
        cloud_synth,
        cloud_transcriber,
        synth_choice,
        transcriber_choice,
    )
    from clanker.voice.cloud.openai_asr import OpenAiTranscriber
    from clanker.voice.cloud.openai_tts import OpenAiSpeech

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "SampleAligner": "clanker.voice.cloud._audio",
        "wav_bytes": "clanker.voice.cloud._audio",
        "ElevenLabsSpeech": "clanker.voice.cloud.elevenlabs_tts",
        "VoiceSettings": "clanker.voice.cloud.elevenlabs_tts",
        "CloudConfigError": "clanker.voice.cloud.errors",
        "CloudSpeechError": "clanker.voice.cloud.errors",
        "cloud_synth": "clanker.voice.cloud.factory",
        "cloud_transcriber": "clanker.voice.cloud.factory",
        "synth_choice": "clanker.voice.cloud.factory",
        "transcriber_choice": "clanker.voice.cloud.factory",
        "OpenAiTranscriber": "clanker.voice.cloud.openai_asr",
        "OpenAiSpeech": "clanker.voice.cloud.openai_tts",
    },
)

__all__ = [
    "CloudConfigError",
    "CloudSpeechError",
    "ElevenLabsSpeech",
    "OpenAiSpeech",
    "OpenAiTranscriber",
    "SampleAligner",
    "VoiceSettings",
    "cloud_synth",
    "cloud_transcriber",
    "synth_choice",
    "transcriber_choice",
    "wav_bytes",
]
