"""A simulated member's voice: text spoken by the local Piper voice, at the voice server's
48 kHz (for `VoiceServer.play`). The models load once per process (clanker.voice.models)."""

from __future__ import annotations

import trio

from clanker.sandbox.voice.audio import Pcm

PLAY_RATE = 48_000


async def piper_speech(text: str) -> Pcm:
    """`text` in Piper's voice (mono, 48 kHz); raises `ModelError` if Piper cannot run."""
    from clanker.voice.brain.config import local_voice_models

    models = await trio.to_thread.run_sync(local_voice_models)
    synth = models.synth
    chunks = [chunk async for chunk in synth.synthesize(text)]
    return Pcm(b"".join(chunks), synth.sample_rate).resample(PLAY_RATE)
