"""clankvox, the real binary, measured at the sandbox voice server.

    .venv/bin/python benchmarks/clankvox.py [--quick] [--sessions N] [--binary B] [--baseline B]
    .venv/bin/python benchmarks/clankvox.py --piper-clip OUT.raw

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
  resident memory (VmRSS). Targets < 3 % and < 25 MiB. The TTS is measured two ways: the
  voice-band sweeps (as since the first run, for comparison) and real speech, Piper's (the
  local voice, at its own 22.05 kHz as clanker sends it), which libopus codes differently and
  at more cost (docs/performance.md). Measured twice: at a voice server
  with `dave=False` (protocol 0, transport encryption only) and at a DAVE server
  (`dave=True`), once clankvox is in the channel's MLS group with the three members and
  every one of them is ready (the figure then includes DAVE-decrypting the three streams and
  DAVE-encrypting the TTS; the run fails if clankvox's `dave_state` counters or the sandbox's
  recording show that frames were not end-to-end encrypted both ways).
* **sessions per core**: N such sessions at once, every clankvox pinned to one CPU; their
  summed CPU, the per-session share, each session's send jitter p99, and the estimate
  100 % / per-session CPU (at the `dave=False` server).

`--baseline B` also runs another clankvox build side by side with `--binary` (default: the
release build) in the per-session scenarios, both sessions in the same channel over the same
window, and reports each figure's ratio (binary / baseline): the way to weigh a change.

The last line is one JSON object with the figures.

`--piper-clip OUT.raw` only writes the Piper speech (one pass of `PIPER_TEXT`, about 15 s) as
raw 48 kHz mono s16le (resampled by ffmpeg's soxr), the input `cargo run --release --example
opus_settings OUT.raw` weighs the encoder's settings on.
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
from clanker.voice.models.piper import load_piper
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
    """Start clankvox `binary` as bot 800n and connect it (returns once it is ready for media;
    on a DAVE server that is before its group is, see `wait_e2ee`)."""
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


def dave_state(vox: Vox) -> e.DaveState | None:
    """The last `dave_state` event clankvox sent (on every change and every 5 s)."""
    return next((x for x in reversed(vox.events) if isinstance(x, e.DaveState)), None)


async def wait_e2ee(server: VoiceServer, voxes: list[Vox], timeout: float = 60.0) -> int:
    """Wait until DAVE is settled end to end: every clankvox says `ready`, every member is ready
    (holds a send key), every participant is in the channel's group at the same epoch, and no
    transition is pending. Returns the epoch."""

    def settled() -> bool:
        states = [dave_state(v) for v in voxes]
        if any(s is None or s.status != "ready" for s in states):
            return False
        epoch = server.dave.epoch(CHANNEL)
        users = [*SPEAKERS, *(v.user_id for v in voxes)]
        return (
            all(server.member(u).ready for u in SPEAKERS)
            and all(server.dave_participant(u).in_group for u in users)
            and all(s is not None and s.epoch == epoch for s in states)
            and server.dave.pending(CHANNEL) is None
        )

    with trio.fail_after(timeout):
        while not settled():
            # the server's frames wake the wait; clankvox's events do not, hence the bound
            with trio.move_on_after(0.05):
                await server.wait_until(settled)
    return server.dave.epoch(CHANNEL)


def speech(seconds: float, rate: int) -> bytes:
    """Voice-band test audio: rising and falling sweeps (different at every instant)."""
    half = seconds / 2
    up = chirp(200, 2500, half, rate=rate, amplitude=0.35).data
    down = chirp(2500, 200, seconds - half, rate=rate, amplitude=0.35).data
    return up + down


PIPER_TEXT = (
    "Sure, I can help with that. The meeting moved to Thursday at three, so we still have "
    "time to finish the slides. Did you want me to send a reminder to everyone in the "
    "channel? I think Maria said she might be a few minutes late, but that should be fine. "
    "Let me know if anything else changes!"
)


async def piper_clip() -> Pcm:
    """Piper speaking `PIPER_TEXT` once (about 15 s) at the voice's own rate."""
    voice = load_piper()
    clip = b"".join([chunk async for chunk in voice.synthesize(PIPER_TEXT)])
    return Pcm(clip, voice.sample_rate, 1)


async def piper_speech(seconds: int) -> Pcm:
    """`seconds` of real TTS: the Piper clip, repeated."""
    clip = await piper_clip()
    need = seconds * clip.rate * 2
    return Pcm((clip.data * (need // len(clip.data) + 1))[:need], clip.rate, 1)


FFMPEG_TO_48K = [
    *("ffmpeg", "-loglevel", "error", "-f", "s16le", "-ac", "1", "-ar"),
    *("{rate}", "-i", "-", "-af", "aresample=48000:resampler=soxr", "-f", "s16le", "-ac", "1", "-"),
]


def write_piper_clip(out: Path) -> None:
    clip = trio.run(piper_clip)
    command = [arg.format(rate=clip.rate) for arg in FFMPEG_TO_48K]
    pcm48 = subprocess.run(command, input=clip.data, capture_output=True, check=True).stdout
    out.write_bytes(pcm48)
    print(f"wrote {len(pcm48) // 2 / 48_000:.2f} s of Piper speech, 48 kHz mono s16le, to {out}")


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


def sweeps(seconds: int, rate: int = 24_000) -> Pcm:
    return Pcm(speech(float(seconds), rate), rate, 1)


async def stream_tts(vox: Vox, seconds: int, tts: Pcm | None = None) -> None:
    """Write `seconds` of TTS (the sweeps unless `tts` is given) in 1 s lines, about 2 s ahead
    of playback."""
    tts = sweeps(seconds) if tts is None else tts
    step = tts.rate * 2
    start = trio.current_time()
    for k in range(seconds):
        await trio.sleep_until(start + k - 2.0)
        chunk = tts.data[k * step : (k + 1) * step]
        await vox.write(c.Audio(pcm_base64=chunk, sample_rate=tts.rate))


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


@dataclass(frozen=True)
class DaveCounts:
    """One session's DAVE counters at one moment: clankvox's (its last `dave_state`) and the
    sandbox recording's of the stream clankvox sent (decrypted through a member's libdave)."""

    encrypted: int
    decrypted: int
    failures: int
    passthrough: int
    outbound_dropped: int
    heard_decrypted: int
    heard_lost: int
    heard_passthrough: int

    @staticmethod
    def of(server: VoiceServer, vox: Vox) -> DaveCounts:
        state = dave_state(vox)
        if state is None:
            raise SystemExit(f"clankvox {vox.user_id} sent no dave_state on a DAVE server")
        heard = server.recordings.get(vox.ssrc)
        return DaveCounts(
            encrypted=state.encrypted_frames,
            decrypted=state.decrypted_frames,
            failures=state.decrypt_failures + state.early_dropped,
            passthrough=state.passthrough_frames,
            outbound_dropped=state.outbound_dropped,
            heard_decrypted=0 if heard is None else heard.dave_decrypted,
            heard_lost=0 if heard is None else heard.dave_lost,
            heard_passthrough=0 if heard is None else heard.dave_passthrough,
        )

    def since(self, before: DaveCounts) -> DaveCounts:
        return DaveCounts(
            *(a - b for a, b in zip(vars(self).values(), vars(before).values(), strict=True))
        )


async def fresh_dave_counts(server: VoiceServer, vox: Vox) -> DaveCounts:
    """The counters from the next `dave_state` (clankvox sends one every 5 s on a DAVE call)."""
    seen = vox.count(e.DaveState)
    await vox.wait(lambda: vox.count(e.DaveState) > seen, timeout=15)
    return DaveCounts.of(server, vox)


def check_dave(vox: Vox, delta: DaveCounts, seconds: float, *, tts: bool) -> None:
    """Fail loudly unless the window really was end-to-end encrypted: the three members' frames
    DAVE-decrypted by clankvox, and (with TTS) clankvox's DAVE-encrypted frames opened by the
    sandbox through a member's libdave; none failed, passed through in the clear or dropped."""
    frames = seconds / 0.020
    problems = []
    if delta.decrypted < 0.9 * len(SPEAKERS) * frames:
        problems.append(f"clankvox decrypted {delta.decrypted} frames of ~{3 * frames:.0f}")
    if delta.failures or delta.passthrough:
        problems.append(f"{delta.failures} failed/early, {delta.passthrough} passed through")
    if tts and (delta.encrypted < 0.9 * frames or delta.heard_decrypted < 0.9 * frames):
        problems.append(
            f"TTS: {delta.encrypted} frames encrypted, {delta.heard_decrypted} opened by the "
            f"sandbox, of ~{frames:.0f}"
        )
    if delta.heard_lost or delta.heard_passthrough or delta.outbound_dropped:
        problems.append(
            f"sent: {delta.heard_lost} did not open, {delta.heard_passthrough} in the clear, "
            f"{delta.outbound_dropped} dropped before keys"
        )
    if problems:
        raise SystemExit(f"DAVE was not active for clankvox {vox.user_id}: {'; '.join(problems)}")


async def speakers_and_tts(
    server: VoiceServer,
    voxes: list[Vox],
    seconds: int,
    *,
    tts: bool = True,
    dave: bool = False,
    tts_audio: Pcm | None = None,
) -> dict[str, object]:
    """Three members speak to every session for `seconds` while each session speaks TTS
    (`tts_audio`, the sweeps by default; none if `tts` is False: receiving only). `dave`: the
    server is a DAVE server and the window must prove end-to-end encryption both ways (see
    `check_dave`)."""
    for vox in voxes:
        for speaker in SPEAKERS:
            await vox.write(c.SubscribeUser(user_id=speaker, sample_rate=24_000))
    member_audio = Pcm(speech(float(seconds), 48_000), 48_000, 1)
    dave_before = [DaveCounts.of(server, v) for v in voxes] if dave else []
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
                speaking.start_soon(stream_tts, vox, seconds, tts_audio)
        elapsed = trio.current_time() - started
        cpu = [(v.cpu_seconds() - s) / elapsed * 100 for v, s in zip(voxes, start_cpu, strict=True)]
        nursery.cancel_scope.cancel()
    frames = [v.audio_frames - s for v, s in zip(voxes, start_frames, strict=True)]
    recordings = server.recordings
    jitter = [
        percentile(jitter_ms(recordings[v.ssrc], started), 99) if v.ssrc in recordings else math.nan
        for v in voxes
    ]
    result: dict[str, object] = {
        "seconds": round(elapsed, 2),
        "cpu_percent": [round(x, 2) for x in cpu],
        "peak_rss_mib": [round(x, 1) for x in peak_rss],
        "user_audio_frames": frames,
        "send_jitter_p99_ms": [round(x, 2) for x in jitter],
    }
    if dave:
        deltas = []
        for vox, before in zip(voxes, dave_before, strict=True):
            delta = (await fresh_dave_counts(server, vox)).since(before)
            check_dave(vox, delta, seconds, tts=tts)
            deltas.append(delta)
        result["dave_decrypted"] = [d.decrypted for d in deltas]
        result["dave_encrypted"] = [d.encrypted for d in deltas]
        result["dave_heard_decrypted"] = [d.heard_decrypted for d in deltas]
    return result


def cpu_line(label: str, run: dict[str, object], names: list[str]) -> str:
    cpu, rss = run["cpu_percent"], run["peak_rss_mib"]
    assert isinstance(cpu, list) and isinstance(rss, list)
    parts = [
        f"{n} CPU {x} % of a core, peak RSS {r} MiB"
        for n, x, r in zip(names, cpu, rss, strict=True)
    ]
    extra = ""
    if "dave_decrypted" in run:
        extra = (
            f"; DAVE frames decrypted {run['dave_decrypted']}, encrypted {run['dave_encrypted']}, "
            f"opened by the sandbox {run['dave_heard_decrypted']}"
        )
    return (
        f"{label} for {run['seconds']} s: {'; '.join(parts)}; "
        f"user_audio frames {run['user_audio_frames']}{extra}"
    )


def ratio(a: float, b: float) -> float:
    return round(a / b, 3) if b > 0 else math.nan


async def per_session(
    server: VoiceServer,
    voxes: list[Vox],
    names: list[str],
    seconds: int,
    tag: str,
    piper: Pcm,
    *,
    dave: bool,
) -> tuple[dict[str, object], dict[str, object], dict[str, object]]:
    """The per-session scenarios: receiving only, then receiving + TTS (the sweeps), then
    receiving + Piper's speech."""
    listening = await speakers_and_tts(server, voxes, seconds, tts=False, dave=dave)
    print(cpu_line(f"{tag}: one session, 3 speakers subscribed, no TTS", listening, names))
    one = await speakers_and_tts(server, voxes, seconds, dave=dave)
    print(cpu_line(f"{tag}: one session, 3 speakers subscribed + TTS", one, names))
    spoken = await speakers_and_tts(server, voxes, seconds, dave=dave, tts_audio=piper)
    print(cpu_line(f"{tag}: one session, 3 speakers subscribed + Piper TTS", spoken, names))
    return listening, one, spoken


def first(run: dict[str, object], key: str, i: int = 0) -> float:
    values = run[key]
    assert isinstance(values, list)
    return values[i]


async def main(
    quick: bool, sessions: int, binary: Path, baseline: Path | None, cpu_only: bool
) -> None:
    for b in (binary, baseline):
        if b is not None and not b.exists():
            sys.exit(f"clankvox is not built at {b}: run scripts/bootstrap")
    jitter_seconds = 15 if quick else 60
    load_seconds = 8 if quick else 20
    names = ["clankvox"] if baseline is None else ["clankvox", "baseline"]
    results: dict[str, object] = {}
    piper = await piper_speech(load_seconds)

    async def start_pair(nursery: trio.Nursery, server: VoiceServer, n: int) -> list[Vox]:
        voxes = [await start_vox(nursery, server, binary, n, cpu=None)]
        if baseline is not None:
            voxes.append(await start_vox(nursery, server, baseline, n + 1, cpu=None))
        return voxes

    # DAVE off: protocol 0, transport encryption only.
    async with open_voice_server(seed=1, dave=False) as server, trio.open_nursery() as nursery:
        for speaker in SPEAKERS:
            server.member_joined(CHANNEL, int(speaker))
        voxes = await start_pair(nursery, server, 0)
        solo = voxes[0]
        if not cpu_only:
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
            results |= {
                "jitter_p50_ms": round(jitter["p50_ms"], 3),
                "jitter_p99_ms": round(jitter["p99_ms"], 3),
                "stdin_to_rtp_p50_ms": round(latency["p50_ms"], 2),
                "stdin_to_rtp_p99_ms": round(latency["p99_ms"], 2),
            }
        listening, one, spoken = await per_session(
            server, voxes, names, load_seconds, "DAVE off", piper, dave=False
        )
        for vox in voxes:
            await vox.write(c.Destroy())

        if not cpu_only:
            pinned = [
                await start_vox(nursery, server, binary, n, cpu=0) for n in range(10, 10 + sessions)
            ]
            many = await speakers_and_tts(server, pinned, load_seconds)
            cpu = many["cpu_percent"]
            assert isinstance(cpu, list)
            per = sum(cpu) / len(cpu)
            estimate = math.floor(100 / per) if per > 0 else 0
            print(
                f"DAVE off: {sessions} sessions pinned to one CPU, each with 3 speakers + TTS: "
                f"total {sum(cpu):.1f} % of that core, {per:.2f} % per session "
                f"-> about {estimate} sessions per core; send jitter p99 per session "
                f"{many['send_jitter_p99_ms']} ms; peak RSS {many['peak_rss_mib']} MiB"
            )
            for vox in pinned:
                await vox.write(c.Destroy())
            results |= {
                "pinned_sessions": sessions,
                "pinned_cpu_percent_per_session": round(per, 2),
                "sessions_per_core_estimate": estimate,
                "pinned_jitter_p99_ms_max": max(many["send_jitter_p99_ms"]),  # type: ignore[type-var]
            }
        nursery.cancel_scope.cancel()

    # DAVE on: clankvox in the channel's MLS group with the three members, all ready.
    async with open_voice_server(seed=1, dave=True) as server, trio.open_nursery() as nursery:
        for speaker in SPEAKERS:
            server.member_joined(CHANNEL, int(speaker))
        voxes = await start_pair(nursery, server, 20)
        epoch = await wait_e2ee(server, voxes)
        state = dave_state(voxes[0])
        assert state is not None
        print(
            f"DAVE on: clankvox ready in the channel's group at epoch {epoch} with "
            f"{len(SPEAKERS)} members (protocol {state.protocol_version}, privacy code "
            f"{state.privacy_code})"
        )
        listening_dave, one_dave, spoken_dave = await per_session(
            server, voxes, names, load_seconds, "DAVE on", piper, dave=True
        )
        for vox in voxes:
            await vox.write(c.Destroy())
        nursery.cancel_scope.cancel()

    off, on = first(one, "cpu_percent"), first(one_dave, "cpu_percent")
    piper_off, piper_on = first(spoken, "cpu_percent"), first(spoken_dave, "cpu_percent")
    results |= {
        "session_cpu_percent": off,
        "session_cpu_percent_dave": on,
        "session_cpu_percent_piper": piper_off,
        "session_cpu_percent_piper_dave": piper_on,
        "session_cpu_dave_vs_off": ratio(on, off),
        "session_rss_mib": first(one, "peak_rss_mib"),
        "session_rss_mib_dave": first(one_dave, "peak_rss_mib"),
        "session_receive_only_cpu_percent": first(listening, "cpu_percent"),
        "session_receive_only_cpu_percent_dave": first(listening_dave, "cpu_percent"),
        "session_dave_decrypted_frames": first(one_dave, "dave_decrypted"),
        "session_dave_encrypted_frames": first(one_dave, "dave_encrypted"),
    }
    if baseline is not None:
        base_off, base_on = first(one, "cpu_percent", 1), first(one_dave, "cpu_percent", 1)
        base_piper_off = first(spoken, "cpu_percent", 1)
        base_piper_on = first(spoken_dave, "cpu_percent", 1)
        results |= {
            "baseline_session_cpu_percent": base_off,
            "baseline_session_cpu_percent_dave": base_on,
            "baseline_session_cpu_percent_piper": base_piper_off,
            "baseline_session_cpu_percent_piper_dave": base_piper_on,
            "session_cpu_vs_baseline": ratio(off, base_off),
            "session_cpu_dave_vs_baseline": ratio(on, base_on),
            "session_cpu_piper_vs_baseline": ratio(piper_off, base_piper_off),
            "session_cpu_piper_dave_vs_baseline": ratio(piper_on, base_piper_on),
            "receive_only_cpu_vs_baseline": ratio(
                first(listening, "cpu_percent"), first(listening, "cpu_percent", 1)
            ),
            "receive_only_cpu_dave_vs_baseline": ratio(
                first(listening_dave, "cpu_percent"), first(listening_dave, "cpu_percent", 1)
            ),
        }
    print(json.dumps(results))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs")
    parser.add_argument("--sessions", type=int, default=6, help="sessions pinned to one CPU")
    parser.add_argument("--binary", type=Path, default=DEFAULT_BINARY, help="clankvox to measure")
    parser.add_argument(
        "--baseline", type=Path, help="another clankvox build, measured side by side"
    )
    parser.add_argument(
        "--cpu-only", action="store_true", help="only the per-session CPU scenarios"
    )
    parser.add_argument(
        "--piper-clip", type=Path, help="only write the Piper speech as 48 kHz raw to this file"
    )
    args = parser.parse_args()
    if args.piper_clip is not None:
        write_piper_clip(args.piper_clip)
    else:
        trio.run(main, args.quick, args.sessions, args.binary, args.baseline, args.cpu_only)
