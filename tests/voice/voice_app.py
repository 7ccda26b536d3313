"""A small clanker tree against the sandbox for voice integration tests and the benchmark:
Store + guilds + the Discord bridge (the real discord.py-self client) + the sandbox Discord
with its voice server; `JoinVoice` starts a `VoiceLink` and the REAL clankvox binary.

Also the signal helpers the tests judge audio with (alignment by cross-correlation, SNR,
dropouts), written with numpy.
"""

from __future__ import annotations

import math
import os
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import trio
import trio_asyncio

from clanker.discord.bridge import BridgeConfig, DiscordBridge
from clanker.guilds import (
    ROUTER_NAME,
    Directory,
    GetDirectory,
    GuildsConfig,
    SessionConfig,
    guilds_spec,
    session_name,
)
from clanker.guilds.messages import JoinVoice, VoiceJoined, clankvox_name, voice_link_name
from clanker.guilds.session import VoiceConfig
from clanker.llm import LlmConfig, llm_child
from clanker.runtime import (
    ActorRef,
    ChildSpec,
    NotRegistered,
    Runtime,
    Strategy,
    SupervisorSpec,
    open_runtime,
)
from clanker.sandbox import Sandbox, demo_world, open_sandbox
from clanker.store import store_child
from clanker.voice import (
    DEFAULT_BINARY,
    ClankvoxStatus,
    GetClankvoxStatus,
    GetVoiceLinkStatus,
    GetVoiceLog,
    VoiceLinkStatus,
    VoiceLog,
    VoiceLogEntry,
)
from clanker.voice.brain.config import VoiceBrainOptions

TIMEOUT = 60.0  # generous: a loaded 2-core machine, real sockets, a real child process


def clankvox_binary() -> Path:
    """The built binary; a clear failure (never a skip) when it is missing."""
    if not DEFAULT_BINARY.exists():
        raise AssertionError(
            f"clankvox is not built at {DEFAULT_BINARY}: run scripts/bootstrap "
            "(cargo build --release --manifest-path clankvox/Cargo.toml)"
        )
    return DEFAULT_BINARY


@dataclass
class VoiceApp:
    sandbox: Sandbox
    runtime: Runtime

    @property
    def guild_key(self) -> str:
        return str(self.sandbox.world.guild_named("Sandbox").id)

    def link(self) -> ActorRef:
        return self.runtime.lookup(voice_link_name(self.guild_key))

    async def join(self, channel: str = "Lounge") -> VoiceJoined:
        lounge = self.sandbox.world.channel_named(channel)
        session = self.runtime.lookup(session_name(self.guild_key))
        reply = await session.ask(JoinVoice(channel_id=lounge.id), timeout=TIMEOUT)
        assert isinstance(reply, VoiceJoined), reply
        return reply

    async def clankvox_status(self) -> ClankvoxStatus:
        ref = self.runtime.lookup(clankvox_name(self.guild_key))
        return await ref.ask(GetClankvoxStatus(), ClankvoxStatus, timeout=TIMEOUT)

    async def status(self) -> VoiceLinkStatus:
        return await self.link().ask(GetVoiceLinkStatus(), VoiceLinkStatus, timeout=TIMEOUT)

    async def log(self, after: int = 0) -> list[VoiceLogEntry]:
        return (await self.link().ask(GetVoiceLog(after=after), VoiceLog, timeout=TIMEOUT)).entries

    async def wait_status(self, what: str, predicate: Callable[[VoiceLinkStatus], bool]) -> None:
        status = None
        try:
            with trio.fail_after(TIMEOUT):
                while True:
                    status = await self.status()
                    if predicate(status):
                        return
                    await trio.sleep(0.05)
        except trio.TooSlowError:
            problems = [
                e.detail for e in await self.log() if e.kind in ("error", "log", "connection_state")
            ][-10:]
            raise AssertionError(
                f"never {what}; last status: {status}; last problems: {problems}"
            ) from None

    async def wait_log(
        self, what: str, predicate: Callable[[list[VoiceLogEntry]], bool]
    ) -> list[VoiceLogEntry]:
        entries: list[VoiceLogEntry] = []
        try:
            with trio.fail_after(TIMEOUT):
                while True:
                    entries = await self.log()
                    if predicate(entries):
                        return entries
                    await trio.sleep(0.05)
        except trio.TooSlowError:
            kinds = [e.kind for e in entries if e.kind not in ("user_audio", "log")][-40:]
            raise AssertionError(f"never {what}; last events: {kinds}") from None

    async def wait_link(self) -> None:
        """Until a voice connection runs (e.g. after a join asked for in text)."""
        with trio.fail_after(TIMEOUT):
            while True:
                try:
                    self.link()
                    return
                except NotRegistered:
                    await trio.sleep(0.05)

    async def wait_ready(self, readies: int = 1) -> None:
        await self.wait_status(f"ready x{readies}", lambda s: s.readies >= readies)

    async def wait_e2ee(self, *members: str) -> None:
        """Until clankvox and the simulated `members` all hold keys for the channel group's
        current epoch: DAVE is ready both ways (a sole member never is: nobody can hear it)."""
        voice = self.sandbox.voice
        assert voice is not None
        users = [self.sandbox.world.user_named(name) for name in members]

        def members_ready() -> bool:
            return all(voice.member(user).ready for user in users)

        def bot_ready(status: VoiceLinkStatus) -> bool:
            dave = status.dave
            return (
                dave is not None
                and dave.status == "ready"
                and members_ready()
                and all(voice.dave_participant(user).in_group for user in users)
                and all(voice.dave_participant(user).epoch == dave.epoch for user in users)
                and voice.dave.pending(self.sandbox.world.channel_named("Lounge").id) is None
            )

        await self.wait_status(f"end-to-end encrypted with {members}", bot_ready)


@asynccontextmanager
async def open_voice_app(
    tmp_path: Path,
    *,
    record_audio: bool = True,
    env: dict[str, str] | None = None,
    voice_seed: int = 0,
    ca_file: str | None = None,
    more_members: tuple[str, ...] = (),
    brain: VoiceBrainOptions | None = None,
    llm: LlmConfig | None = None,
    **sandbox_kw: Any,
) -> AsyncIterator[VoiceApp]:
    """The sandbox and the small tree logged into it (the bridge ready when this yields).
    `more_members` joins the demo guild beside alice and bob. With `brain` (and `llm`, the
    Llm actor's config) each voice connection gets the voice brain."""
    binary = clankvox_binary()
    world = demo_world()
    for name in more_members:
        user = world.add_user(name, global_name=name.title())
        world.add_member(world.guild_named("Sandbox").id, user.id)
    async with AsyncExitStack() as stack:
        sb = await stack.enter_async_context(
            open_sandbox(world, voice_seed=voice_seed, **sandbox_kw)
        )
        await stack.enter_async_context(trio_asyncio.open_loop())
        voice = VoiceConfig(
            command=(str(binary),),
            env={"CLANKVOX_LOG": os.environ.get("CLANKVOX_LOG", "warn"), **(env or {})},
            record_audio=record_audio,
            ca_file=ca_file or (None if sb.voice is None else sb.voice.ca_file),
            brain=brain,
        )
        bridge = BridgeConfig(
            token=sb.token, route_to=ROUTER_NAME, rest_url=sb.rest_url, gateway_url=sb.gateway_url
        )
        spec = SupervisorSpec(
            Strategy.ONE_FOR_ONE,
            [
                store_child(tmp_path / "voice.db"),
                *([llm_child(llm)] if llm is not None else []),
                guilds_spec(GuildsConfig(session=SessionConfig(voice=voice))),
                ChildSpec(
                    "discord",
                    lambda: DiscordBridge(bridge),
                    register="discord",
                    mailbox=DiscordBridge.mailbox,
                ),
            ],
        )
        rt = await stack.enter_async_context(open_runtime(spec))
        app = VoiceApp(sandbox=sb, runtime=rt)
        with trio.fail_after(TIMEOUT):
            while True:
                directory = await rt.lookup(ROUTER_NAME).ask(GetDirectory(), Directory)
                if directory.identity is not None and app.guild_key in directory.sessions:
                    break
                await trio.sleep(0.05)
        yield app


# -- signals ------------------------------------------------------------------------------------


def samples(pcm: bytes, channels: int = 1) -> np.ndarray:
    """s16le bytes as float64 mono (stereo averaged)."""
    data = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    if channels == 2:
        data = data.reshape(-1, 2).mean(axis=1)
    return data


def resample(x: np.ndarray, rate: int, to: int) -> np.ndarray:
    """Band-limited enough for test signals below 4 kHz: linear interpolation."""
    if rate == to:
        return x
    n = int(len(x) * to / rate)
    return np.interp(np.arange(n) * rate / to, np.arange(len(x)), x)


def align(reference: np.ndarray, received: np.ndarray) -> int:
    """The offset of `reference` inside `received` (cross-correlation by FFT)."""
    n = len(reference) + len(received)
    size = 1 << (n - 1).bit_length()
    spectrum = np.fft.rfft(received, size) * np.conj(np.fft.rfft(reference, size))
    corr = np.fft.irfft(spectrum, size)[: len(received)]
    return int(np.argmax(corr))


@dataclass(frozen=True)
class Match:
    offset: int  # samples into the received signal where the reference starts
    correlation: float  # normalised correlation after alignment, 1.0 = identical shape
    snr_db: float  # reference power over the residual after the best gain


def compare(reference: np.ndarray, received: np.ndarray) -> Match:
    """Align `reference` in `received`, then measure how alike they are."""
    offset = align(reference, received)
    segment = received[offset : offset + len(reference)]
    ref = reference[: len(segment)]
    denom = math.sqrt(float(np.dot(ref, ref)) * float(np.dot(segment, segment))) or 1.0
    correlation = float(np.dot(ref, segment)) / denom
    gain = float(np.dot(ref, segment)) / (float(np.dot(ref, ref)) or 1.0)
    residual = segment - gain * ref
    noise = float(np.dot(residual, residual)) or 1e-9
    snr = 10 * math.log10(float(np.dot(gain * ref, gain * ref)) / noise)
    return Match(offset=offset, correlation=correlation, snr_db=snr)


def longest_dropout_ms(x: np.ndarray, rate: int, *, threshold: float = 200.0) -> float:
    """The longest run of near-silence (|s| < threshold over 2.5 ms windows) inside `x`."""
    window = max(1, rate // 400)
    usable = len(x) // window * window
    peaks = np.abs(x[:usable]).reshape(-1, window).max(axis=1)
    longest = run = 0
    for quiet in peaks < threshold:
        run = run + 1 if quiet else 0
        longest = max(longest, run)
    return longest * window * 1000 / rate


def speechlike(seconds: float, rate: int, *, seed: int = 1) -> np.ndarray:
    """A deterministic voice-band test signal: two tones that jump to new random pitches every
    80 ms (phase-continuous, smoothed), under a syllable-rate envelope. Never silent and never
    periodic for long, so alignment is unambiguous and another seed correlates near zero."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    step = int(0.08 * rate)
    count = n // step + 1
    low = np.repeat(rng.uniform(150, 900, count), step)[:n]
    high = np.repeat(rng.uniform(900, 3000, count), step)[:n]
    kernel = np.hanning(max(3, int(0.01 * rate)))
    kernel /= kernel.sum()
    low, high = np.convolve(low, kernel, "same"), np.convolve(high, kernel, "same")
    t = np.arange(n) / rate
    envelope = 0.6 + 0.4 * np.sin(2 * np.pi * 3.1 * t + rng.uniform(0, 6))
    tones = np.sin(2 * np.pi * np.cumsum(low) / rate) + 0.5 * np.sin(
        2 * np.pi * np.cumsum(high) / rate
    )
    out: np.ndarray = 8000 * envelope * tones
    return out


def to_pcm(x: np.ndarray) -> bytes:
    return np.clip(np.round(x), -32768, 32767).astype("<i2").tobytes()
