"""clankvox, the real binary, measured at the sandbox voice server.

    .venv/bin/python benchmarks/clankvox.py [--quick] [--sessions N]

Each clankvox process is driven directly over its pipe (`connect` with credentials the voice
server granted, `audio`, `subscribe_user`), with its stdout drained by a frame decoder; the
sandbox voice server (`open_voice_server`) records what arrives, on trio's clock (the same
monotonic clock clankvox's send loop uses). Reports, in one run:

* **send-clock jitter**: 60 s of speech streamed in (1 s `audio` lines, kept ~2 s ahead); each
  packet's arrival (the kernel's receive timestamp, SO_TIMESTAMPNS, so the Python server's own
  scheduling delays are left out) minus its place on the 20 ms grid (its RTP timestamp / 960 x
  20 ms), centred on the median; p50 / p99 / max of the absolute deviation (ms). Target p99 <= 2 ms.
* **stdin-to-RTP**: an `audio` line of 300 ms (over the 200 ms pre-buffer, so the gate opens at
  once) written to an idle session; time until its first RTP packet arrives (ms), 20 trials.
  Target <= 30 ms beyond the pre-buffer.
* **per session with 3 speakers**: three simulated members speak at once to one session that
  subscribes to all three (decode, jitter buffer, resample to 24 kHz, frames to stdout) while
  it also speaks TTS; clankvox's CPU (utime + stime over wall time, % of one core) and peak
  resident memory (VmRSS). Targets < 3 % and < 25 MiB.
* **sessions per core**: N such sessions at once, every clankvox pinned to one CPU; their
  summed CPU, the per-session share, each session's send jitter p99, and the estimate
  100 % / per-session CPU.

The last line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import trio

from clanker.sandbox.voice import VoiceGrant, open_voice_server
from clanker.sandbox.voice.audio import Pcm, chirp
from clanker.sandbox.voice.recording import ReceivedPacket, StreamRecording
from clanker.sandbox.voice.server import VoiceServer
from clanker.voice import ClankvoxFrameDecoder, encode_command
from clanker.voice import commands as c
from clanker.voice import events as e
from clanker.voice.session_spec import DEFAULT_BINARY

GUILD, CHANNEL = "900", "901"
SPEAKERS = ("7001", "7002", "7003")
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass
class Vox:
    """One clankvox process connected to the sandbox voice server as bot `user_id`."""

    user_id: str
    process: trio.Process
    events: list[e.ClankvoxEvent] = field(default_factory=list)
    audio_frames: int = 0
    ssrc: int = 0
    changed: trio.Event = field(default_factory=trio.Event)

    async def write(self, command: c.ClankvoxCommand) -> None:
        assert self.process.stdin is not None
        await self.process.stdin.send_all(encode_command(command))

    async def pump(self) -> None:
        decoder = ClankvoxFrameDecoder()
        assert self.process.stdout is not None
        while chunk := await self.process.stdout.receive_some(65_536):
            for event in decoder.feed(chunk):
                if isinstance(event, e.UserAudio):
                    self.audio_frames += 1
                else:
                    self.events.append(event)
            self.changed.set()
            self.changed = trio.Event()

    async def wait(self, predicate: Callable[[], bool], timeout: float = 60.0) -> None:
        with trio.fail_after(timeout):
            while not predicate():
                await self.changed.wait()

    def count(self, kind: type, **fields: str) -> int:
        return sum(
            1
            for x in self.events
            if isinstance(x, kind) and all(getattr(x, k) == v for k, v in fields.items())
        )

    def cpu_seconds(self) -> float:
        stat = Path(f"/proc/{self.process.pid}/stat").read_text()
        fields_ = stat.rsplit(")", 1)[1].split()
        return (int(fields_[11]) + int(fields_[12])) / CLK_TCK

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return math.nan


async def start_vox(
    nursery: trio.Nursery, server: VoiceServer, binary: Path, n: int, cpu: int | None
) -> Vox:
    user_id = str(8000 + n)
    grant = VoiceGrant(
        server_id=GUILD, channel_id=CHANNEL, user_id=user_id, session_id=f"s{n}", token=f"t{n}"
    )
    server.grant(grant)
    process = await trio.lowlevel.open_process(
        [str(binary)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**os.environ, "CLANKVOX_LOG": "warn", "CLANKVOX_CA_FILE": server.ca_file or ""},
    )
    if cpu is not None:
        os.sched_setaffinity(process.pid, {cpu})
    vox = Vox(user_id=user_id, process=process)
    nursery.start_soon(vox.pump)
    await vox.write(
        c.Connect(
            guild_id=GUILD,
            channel_id=CHANNEL,
            user_id=user_id,
            session_id=grant.session_id,
            endpoint=server.url,
            token=grant.token,
        )
    )
    await vox.wait(lambda: vox.count(e.Ready) >= 1)
    [session] = server.sessions(user_id)
    vox.ssrc = session.ssrc
    return vox


def speech(seconds: float, rate: int) -> bytes:
    """Voice-band test audio: rising and falling sweeps (different at every instant)."""
    half = seconds / 2
    up = chirp(200, 2500, half, rate=rate, amplitude=0.35).data
    down = chirp(2500, 200, seconds - half, rate=rate, amplitude=0.35).data
    return up + down


def arrival_of(packet: ReceivedPacket) -> float:
    """The kernel's receive time (SO_TIMESTAMPNS) when there is one: it leaves out the sandbox
    server's own scheduling delays, so the figure is clankvox's send clock plus loopback."""
    if packet.kernel_arrival is None:
        sys.exit("no kernel receive timestamps on this platform (SO_TIMESTAMPNS)")
    return packet.kernel_arrival


def jitter_ms(stream: StreamRecording, after: float = -math.inf) -> list[float]:
    """|arrival - grid place| for the speech packets that arrived after `after` (ms)."""
    packets = [p for p in stream.packets if not p.silence and p.arrival > after]
    if len(packets) < 2:
        return []
    first = packets[0]
    offsets = [p.arrival - ((p.timestamp - first.timestamp) % 2**32) / 960 * 0.020 for p in packets]
    centre = statistics.median(offsets)
    return [abs(o - centre) * 1000 for o in offsets]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def stream_tts(vox: Vox, seconds: int, rate: int = 24_000) -> None:
    """Write `seconds` of speech in 1 s lines, about 2 s ahead of playback."""
    audio = speech(float(seconds), rate)
    step = rate * 2
    start = trio.current_time()
    for k in range(seconds):
        await trio.sleep_until(start + k - 2.0)
        await vox.write(c.Audio(pcm_base64=audio[k * step : (k + 1) * step], sample_rate=rate))


async def measure_jitter(server: VoiceServer, vox: Vox, seconds: int) -> dict[str, float]:
    before = vox.count(e.TtsPlaybackState, status="idle")
    await stream_tts(vox, seconds)
    await vox.wait(lambda: vox.count(e.TtsPlaybackState, status="idle") > before, seconds + 30)
    deviations = jitter_ms(server.recordings[vox.ssrc])
    behind = sum(1 for x in vox.events if isinstance(x, e.Log) and "behind" in x.message)
    return {
        "packets": len(deviations),
        "p50_ms": percentile(deviations, 50),
        "p99_ms": percentile(deviations, 99),
        "max_ms": max(deviations, default=math.nan),
        "clock_fell_behind": behind,
    }


async def measure_stdin_to_rtp(server: VoiceServer, vox: Vox, trials: int) -> dict[str, float]:
    stream = server.recordings[vox.ssrc]
    chunk = speech(0.3, 24_000)
    latencies = []
    for _ in range(trials):
        idle = vox.count(e.TtsPlaybackState, status="idle")
        await trio.sleep(0.3)  # idle: the trailing silence went out
        seen = len(stream.packets)
        written = time.time()  # the kernel stamps arrivals on CLOCK_REALTIME
        await vox.write(c.Audio(pcm_base64=chunk, sample_rate=24_000))
        with trio.fail_after(10):
            await server.wait_until(lambda seen=seen: len(stream.packets) > seen)
        latencies.append((arrival_of(stream.packets[seen]) - written) * 1000)
        await vox.wait(lambda idle=idle: vox.count(e.TtsPlaybackState, status="idle") > idle)
    return {
        "trials": trials,
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "max_ms": max(latencies),
    }


async def speakers_and_tts(
    server: VoiceServer, voxes: list[Vox], seconds: int, *, tts: bool = True
) -> dict[str, float | list[float]]:
    """Three members speak to every session for `seconds` while each session speaks TTS
    (unless `tts` is False: receiving only)."""
    for vox in voxes:
        for speaker in SPEAKERS:
            await vox.write(c.SubscribeUser(user_id=speaker, sample_rate=24_000))
    member_audio = Pcm(speech(float(seconds), 48_000), 48_000, 1)
    start_cpu = [v.cpu_seconds() for v in voxes]
    start_frames = [v.audio_frames for v in voxes]
    peak_rss = [v.rss_mib() for v in voxes]
    started = trio.current_time()

    async def sample_rss() -> None:
        while True:
            await trio.sleep(0.5)
            for i, vox in enumerate(voxes):
                peak_rss[i] = max(peak_rss[i], vox.rss_mib())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(sample_rss)
        async with trio.open_nursery() as speaking:
            for speaker in SPEAKERS:
                speaking.start_soon(server.play, int(speaker), member_audio)
            for vox in voxes if tts else []:
                speaking.start_soon(stream_tts, vox, seconds)
        elapsed = trio.current_time() - started
        nursery.cancel_scope.cancel()
    cpu = [(v.cpu_seconds() - s) / elapsed * 100 for v, s in zip(voxes, start_cpu, strict=True)]
    frames = [v.audio_frames - s for v, s in zip(voxes, start_frames, strict=True)]
    jitter = [percentile(jitter_ms(server.recordings[v.ssrc], started), 99) for v in voxes]
    return {
        "seconds": round(elapsed, 2),
        "cpu_percent": [round(x, 2) for x in cpu],
        "peak_rss_mib": [round(x, 1) for x in peak_rss],
        "user_audio_frames": frames,
        "send_jitter_p99_ms": [round(x, 2) for x in jitter],
    }


async def main(quick: bool, sessions: int) -> None:
    binary = DEFAULT_BINARY
    if not binary.exists():
        sys.exit(f"clankvox is not built at {binary}: run scripts/bootstrap")
    jitter_seconds = 15 if quick else 60
    load_seconds = 8 if quick else 20
    results: dict[str, object] = {}
    async with open_voice_server(seed=1) as server, trio.open_nursery() as nursery:
        for speaker in SPEAKERS:
            server.member_joined(CHANNEL, int(speaker))

        solo = await start_vox(nursery, server, binary, 0, cpu=None)
        jitter = await measure_jitter(server, solo, jitter_seconds)
        print(
            f"send clock over {jitter_seconds} s of speech ({jitter['packets']} packets): "
            f"deviation from the 20 ms grid p50 {jitter['p50_ms']:.3f} ms, "
            f"p99 {jitter['p99_ms']:.3f} ms, max {jitter['max_ms']:.3f} ms; "
            f"clock fell behind {jitter['clock_fell_behind']} times"
        )
        latency = await measure_stdin_to_rtp(server, solo, 10 if quick else 20)
        print(
            f"stdin -> first RTP packet ({latency['trials']} trials, 300 ms lines): "
            f"p50 {latency['p50_ms']:.2f} ms, p99 {latency['p99_ms']:.2f} ms, "
            f"max {latency['max_ms']:.2f} ms"
        )
        listening = await speakers_and_tts(server, [solo], load_seconds, tts=False)
        print(
            f"one session, 3 speakers subscribed, no TTS, for {listening['seconds']} s: "
            f"CPU {listening['cpu_percent'][0]} % of a core, "  # type: ignore[index]
            f"peak RSS {listening['peak_rss_mib'][0]} MiB"  # type: ignore[index]
        )
        one = await speakers_and_tts(server, [solo], load_seconds)
        print(
            f"one session, 3 speakers subscribed + TTS for {one['seconds']} s: "
            f"CPU {one['cpu_percent'][0]} % of a core, "  # type: ignore[index]
            f"peak RSS {one['peak_rss_mib'][0]} MiB, "  # type: ignore[index]
            f"{one['user_audio_frames'][0]} user_audio frames"  # type: ignore[index]
        )
        await solo.write(c.Destroy())

        voxes = [await start_vox(nursery, server, binary, n, cpu=0) for n in range(1, sessions + 1)]
        many = await speakers_and_tts(server, voxes, load_seconds)
        cpu = many["cpu_percent"]
        assert isinstance(cpu, list)
        per_session = sum(cpu) / len(cpu)
        estimate = math.floor(100 / per_session) if per_session > 0 else 0
        print(
            f"{sessions} sessions pinned to one CPU, each with 3 speakers + TTS: "
            f"total {sum(cpu):.1f} % of that core, {per_session:.2f} % per session "
            f"-> about {estimate} sessions per core; send jitter p99 per session "
            f"{many['send_jitter_p99_ms']} ms; peak RSS {many['peak_rss_mib']} MiB"
        )
        for vox in voxes:
            await vox.write(c.Destroy())
        results = {
            "jitter_p50_ms": round(jitter["p50_ms"], 3),
            "jitter_p99_ms": round(jitter["p99_ms"], 3),
            "stdin_to_rtp_p50_ms": round(latency["p50_ms"], 2),
            "stdin_to_rtp_p99_ms": round(latency["p99_ms"], 2),
            "session_cpu_percent": one["cpu_percent"][0],  # type: ignore[index]
            "session_rss_mib": one["peak_rss_mib"][0],  # type: ignore[index]
            "session_receive_only_cpu_percent": listening["cpu_percent"][0],  # type: ignore[index]
            "pinned_sessions": sessions,
            "pinned_cpu_percent_per_session": round(per_session, 2),
            "sessions_per_core_estimate": estimate,
            "pinned_jitter_p99_ms_max": max(many["send_jitter_p99_ms"]),  # type: ignore[type-var]
        }
        nursery.cancel_scope.cancel()
    print(json.dumps(results))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs")
    parser.add_argument("--sessions", type=int, default=6, help="sessions pinned to one CPU")
    args = parser.parse_args()
    trio.run(main, args.quick, args.sessions)
