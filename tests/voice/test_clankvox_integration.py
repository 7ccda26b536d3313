"""Voice end to end through the REAL clankvox binary and the REAL discord.py-self client.

clanker's tree (Store, guilds, the Discord bridge) runs against the sandbox Discord and its
voice server; `JoinVoice` makes the guild session start a `VoiceLink`, which sends op 4 through
the bridge, hears the bot's VOICE_STATE/VOICE_SERVER updates back through the router and the
guild session, and tells clankvox to connect. Only the far end (the sandbox) is scripted.

Real sockets and a real child process, so the real clock: every wait is on a condition,
bounded by a generous timeout, and nothing asserts on how fast the machine is. Audio is judged
on content (alignment by cross-correlation, then correlation and SNR) and event order.

Thresholds, set with a margin below what this machine measured (Opus is lossy, and clankvox
encodes for VoIP with in-band FEC, which costs waveform fidelity; measured: correlation 0.97,
SNR 12 dB; the same signal with another seed: correlation 0.06):
* speech the bot says and speech a member says: correlation >= 0.9 and SNR >= 8 dB after
  aligning;
* with 5 % loss and 5 % reordering injected: no gap in the received speech longer than 40 ms
  (the test signal is never silent) and correlation >= 0.8.
"""

from __future__ import annotations

from pathlib import Path

import trio

from clanker.voice import (
    SpeakPcm,
    SpeechQueued,
)
from tests.voice.voice_app import (
    TIMEOUT,
    compare,
    open_voice_app,
    resample,
    samples,
    speechlike,
    to_pcm,
)

MIN_CORRELATION = 0.9
MIN_SNR_DB = 8.0


async def test_the_bot_joins_voice_through_the_bridge_and_its_speech_arrives_intact(
    tmp_path: Path,
) -> None:
    async with open_voice_app(tmp_path) as app:
        sb, world = app.sandbox, app.sandbox.world
        assert sb.voice is not None
        joined = await app.join()
        await app.wait_ready()
        session = await sb.voice.wait_for_session(world.bot)
        assert session.ready
        status = await app.status()
        assert (status.phase, status.connects, status.clankvox_starts) == ("ready", 1, 1)
        assert status.endpoint == sb.voice.url and status.session_id
        assert joined.channel_id == world.channel_named("Lounge").id
        # The gateway knows the bot is in the channel (op 4 went through the real client).
        assert world.voice_states[(world.guild_named("Sandbox").id, world.bot.id)].channel_id == (
            joined.channel_id
        )

        source = speechlike(3.0, 24_000)
        queued = await app.link().ask(SpeakPcm(pcm=to_pcm(source), sample_rate=24_000))
        assert queued == SpeechQueued(chunks=3, samples=72_000)
        await app.wait_log(
            "finished speaking",
            lambda log: any(e.kind == "tts_playback_state" and '"idle"' in e.detail for e in log),
        )
        with trio.fail_after(TIMEOUT):
            await sb.voice.wait_until(lambda: sb.voice.jitter_stats(world.bot).packets >= 150)
        heard = sb.voice.received_pcm(world.bot)
        assert heard.rate == 48_000 and heard.channels == 2
        match = compare(resample(source, 24_000, 48_000), samples(heard.data, 2))
        assert match.correlation >= MIN_CORRELATION, match
        assert match.snr_db >= MIN_SNR_DB, match
        stats = sb.voice.jitter_stats(world.bot)
        assert stats.decode_errors == 0 and stats.lost == 0
        # Speaking was announced around the burst (protocol §6.2).
        assert {"speaking": 1, "delay": 0, "ssrc": session.ssrc} in sb.voice.stats.client_speaking
        # clankvox's UDP keepalives are not malformed datagrams.
        assert sb.voice.media.malformed == 0, sb.voice.media.problems
