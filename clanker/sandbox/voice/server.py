"""The sandbox voice server: a voice gateway over TLS and a UDP media socket on loopback.

`open_voice_server()` serves `VoiceGateway` over trio-websocket at `wss://host:port` (clients
append `/?v=8`) with a certificate from a CA it makes at start (`server.ca_file`), and media on
one UDP socket. `server.endpoint` is the bare `host:port` that VOICE_SERVER_UPDATE carries, as
on Discord. It yields a `VoiceServer` to script: simulated
members speak into the channel (`play`), and what a client sends is decrypted, decoded and kept
(`received_pcm`, `recording`). `drop_socket()` closes every websocket so clients resume.

DAVE (`dave=True`, the default): the server is the channel's DAVE delivery service and external
sender (`dave_ds.DaveDeliveryService` over the `dave-sim` helper); simulated members are libdave
`DaveMember`s that encrypt what they `play` and decrypt what clients send for the recording. The
scripting side: `dave` (a `DaveReport`), `member(user)`, `downgrade(channel)` / `upgrade(channel)`,
`dave_transitions(channel)`, `dave_participant(user)`. See docs/sandbox-dave.md.
"""

from __future__ import annotations

import json
import logging
import math
import random
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Protocol
from urllib.parse import parse_qs, urlsplit

import trio
import trio_websocket
from trio_websocket import ConnectionClosed, WebSocketConnection, WebSocketRequest

from clanker.sandbox.voice.audio import Pcm, read_wav
from clanker.sandbox.voice.crypto import TransportMode
from clanker.sandbox.voice.dave_ds import (
    DEFAULT_TRANSITION_TIMEOUT,
    DaveChannel,
    DaveDeliveryService,
    DaveStats,
)
from clanker.sandbox.voice.dave_member import DaveMember
from clanker.sandbox.voice.media import MediaSocket, MediaStats
from clanker.sandbox.voice.mls_sim import MlsExternalSender
from clanker.sandbox.voice.ops import VoiceCloseCode, VoiceGrant
from clanker.sandbox.voice.opus import SILENCE_FRAME
from clanker.sandbox.voice.playback import FRAME_SECONDS, MemberStream, PlaybackPlan, Trouble
from clanker.sandbox.voice.recording import JitterStats, StreamRecording
from clanker.sandbox.voice.session import (
    Close,
    DaveTransitionRecord,
    SendBinary,
    SendJson,
    SessionReady,
    VoiceAction,
    VoiceGateway,
    VoiceGatewayStats,
    VoiceSession,
)
from clanker.sandbox.voice.tls import LocalCa

_log = logging.getLogger(__name__)

_CLOSE_HANDSHAKE_TIMEOUT = 5.0
# Simulated members send with SSRCs from here, far from the ones clients get (1, 2, ...).
MEMBER_SSRC_BASE = 100_000


class _HasId(Protocol):
    @property
    def id(self) -> int: ...


UserLike = int | str | _HasId


def _user_id(user: UserLike) -> str:
    return str(user if isinstance(user, (int, str)) else user.id)


class NoVoiceSession(RuntimeError):
    """A script asked for a client's voice session and none is there."""


@dataclass(frozen=True)
class PlaybackReport:
    """What one `play` sent."""

    user_id: str
    ssrc: int
    sessions: int  # client sessions it went to
    frames: int  # audio frames (20 ms each), before loss
    packets_sent: int  # per session, silence frames included
    dropped: list[int]
    reordered: list[int]
    started_at: float
    finished_at: float
    dave_encrypted: int = 0  # packets DAVE-encrypted by the member (once each, for all sessions)
    dave_plain: int = 0  # audio packets sent without DAVE (channel at 0, member not ready, no DAVE)


@dataclass(frozen=True)
class DaveParticipantReport:
    """What the server knows of one DAVE participant (a client session or a simulated member).

    The server never holds a participant's keys: `in_group` and `leaf` are the delivery
    service's view (the last commit it accepted), `sent` is what a client sent it."""

    user_id: str
    channel_id: str
    simulated: bool  # a DaveMember (in process) rather than a websocket client
    max_dave_protocol_version: int  # a client's IDENTIFY value (1 for members)
    participant: bool  # joined the delivery service (a DAVE-capable client after op 4)
    leaf: int | None  # its leaf in the channel's group, None when not in it
    epoch: int  # the channel group's epoch
    protocol_version: int  # the channel's
    sent: list[tuple[float, int]] = field(default_factory=list)  # (time, op) a client sent

    @property
    def in_group(self) -> bool:
        """Whether the channel's group holds a current leaf for it."""
        return self.leaf is not None

    def sent_ops(self, op: int) -> int:
        """How many of DAVE op `op` (23, 26, 28, 31) the client sent."""
        return sum(1 for _, o in self.sent if o == op)


@dataclass(frozen=True)
class DaveReport:
    """The server's DAVE state, for scripts: per channel and overall."""

    service: DaveDeliveryService

    @property
    def stats(self) -> DaveStats:
        """The delivery service's counters (commits, proposals, transitions, timeouts...)."""
        return self.service.stats

    def channel(self, channel_id: int | str) -> DaveChannel | None:
        """The delivery service's view of a channel's group (None before anyone joined)."""
        return self.service.channels.get(str(channel_id))

    def epoch(self, channel_id: int | str) -> int:
        """The channel group's MLS epoch (0: no group)."""
        channel = self.channel(channel_id)
        return 0 if channel is None else channel.epoch

    def version(self, channel_id: int | str) -> int:
        """The channel's DAVE protocol version (what op 4 reports)."""
        return self.service.protocol_version(str(channel_id))

    def pending(self, channel_id: int | str) -> int | None:
        """The id of the channel's announced, not yet executed, transition."""
        channel = self.channel(channel_id)
        return (
            None
            if channel is None or channel.transition is None
            else channel.transition.transition_id
        )

    @property
    def transitions_executed(self) -> list[int]:
        """Every transition id executed, in order (all channels)."""
        return list(self.service.stats.transitions_executed)


class _Outbox:
    def __init__(self) -> None:
        self.send, self.receive = trio.open_memory_channel[
            dict[str, object] | bytes | Close | None
        ](math.inf)


class VoiceServer:
    """A running sandbox voice server and its scripting API. Build it with `open_voice_server`.

    Everything runs in the trio thread; the scripting methods that only change state are
    synchronous.
    """

    def __init__(
        self,
        *,
        modes: tuple[TransportMode, ...] = tuple(TransportMode),
        heartbeat_interval_ms: int = 13_750,
        seed: int = 0,
        dave: DaveDeliveryService | None = None,
    ) -> None:
        self.gateway = VoiceGateway(
            modes=modes,
            heartbeat_interval_ms=heartbeat_interval_ms,
            rng=random.Random(f"voice-keys/{seed}"),
            dave=dave,
        )
        self.seed = seed
        self.url = ""  # wss://host:port (ws:// when serving without TLS)
        self.endpoint = ""  # host:port, as VOICE_SERVER_UPDATE carries it
        self.ca: LocalCa | None = None
        self.members: dict[str, MemberStream] = {}
        self.on_change: list[Callable[[], None]] = []
        self._outboxes: dict[int, _Outbox] = {}
        self._media: MediaSocket | None = None
        self._changed = trio.Event()
        self._deadlines = trio.Event()
        self._plays = 0

    # -- configuration and the sandbox gateway's hooks ----------------------------------------

    @property
    def ca_file(self) -> str | None:
        """The PEM file of the CA that issued the server's certificate (None without TLS)."""
        return None if self.ca is None else self.ca.ca_file

    @property
    def udp_address(self) -> tuple[str, int]:
        """Where clients send media (advertised in READY)."""
        return self.gateway.udp_address

    @property
    def media(self) -> MediaStats:
        """UDP counters (datagrams, IP discoveries, RTP in and out, failures...)."""
        assert self._media is not None, "the server is not serving"
        return self._media.stats

    @property
    def recordings(self) -> dict[int, StreamRecording]:
        """Every client stream received, by its SSRC."""
        assert self._media is not None, "the server is not serving"
        return self._media.recordings

    @property
    def stats(self) -> VoiceGatewayStats:
        """Voice gateway counters (connections, identifies, resumes, heartbeats...)."""
        return self.gateway.stats

    def grant(self, grant: VoiceGrant) -> None:
        """Let a client in with these credentials (the sandbox gateway calls this on op 4)."""
        self.gateway.grant(grant)

    def revoke(self, server_id: str, user_id: str) -> None:
        """The user left voice: close its sessions with 4014 (it leaves the DAVE group)."""
        self._deliver(self.gateway.revoke(server_id, user_id, _now()))

    def member_joined(self, channel_id: int | str, user: UserLike) -> None:
        """A simulated member is now in `channel_id` (clients there get op 11); with DAVE it
        joins the channel's group as a libdave `DaveMember` (see `member`)."""
        uid = _user_id(user)
        ssrc = self.member_stream(uid).ssrc
        self._deliver(self.gateway.member_joined(str(channel_id), uid, ssrc=ssrc, now=_now()))

    def member_left(self, channel_id: int | str, user: UserLike) -> None:
        """A simulated member left `channel_id` (clients there get op 13; the group re-keys)."""
        self._deliver(self.gateway.member_left(str(channel_id), _user_id(user), now=_now()))

    # -- DAVE -----------------------------------------------------------------------------------

    @property
    def dave(self) -> DaveReport:
        """The DAVE state: `epoch(ch)`, `version(ch)`, `pending(ch)`, `channel(ch)` (the
        delivery service's group view: leaves, participants), `stats` (commits, transitions...).
        Raises RuntimeError when the server runs with `dave=False`."""
        if self.gateway.dave is None:
            raise RuntimeError("this voice server runs without DAVE (dave=False)")
        return DaveReport(self.gateway.dave)

    def member(self, user: UserLike, channel_id: int | str | None = None) -> DaveMember:
        """Simulated member `user`'s DAVE participant (libdave): `ready`, `group_users`,
        `stats[sender]` (decrypted / failed / passthrough), `use_wrong_key()`,
        `corrupt_next_welcome`... Raises KeyError when it is in no channel (or without DAVE)."""
        uid = _user_id(user)
        member = self.gateway.dave_member(uid, None if channel_id is None else str(channel_id))
        if member is None:
            raise KeyError(f"simulated member {uid} is in no voice channel with DAVE")
        return member

    def downgrade(self, channel_id: int | str) -> None:
        """Take the channel to DAVE protocol 0 (op 21 {protocol_version: 0} ... op 22)."""
        self._deliver(self.gateway.set_dave_protocol_version(str(channel_id), 0, _now()))

    def upgrade(self, channel_id: int | str) -> None:
        """Back to DAVE protocol 1 (a new group: op 24 epoch 1 + op 25 to everyone); the channel
        then follows its members again (0 while a client without DAVE is there)."""
        self._deliver(self.gateway.set_dave_protocol_version(str(channel_id), None, _now()))

    def dave_transitions(self, channel_id: int | str | None = None) -> list[DaveTransitionRecord]:
        """Every DAVE transition (of `channel_id`), with when it was prepared and executed (trio
        time): the window in which frames may be lost."""
        return [
            r
            for r in self.gateway.dave_transitions
            if channel_id is None or r.channel_id == str(channel_id)
        ]

    def dave_participant(
        self, user: UserLike, channel_id: int | str | None = None
    ) -> DaveParticipantReport:
        """What the server knows of `user`'s DAVE state (a client, e.g. the bot, or a member)."""
        uid = _user_id(user)
        service = self.dave.service
        channel = None if channel_id is None else str(channel_id)
        member = self.gateway.dave_member(uid, channel)
        if member is not None:
            ch, simulated, max_version, sent, joined = member.channel_id, True, 1, [], True
        else:
            found = [
                s
                for s in self.gateway.sessions.values()
                if s.grant.user_id == uid and channel in (None, s.grant.channel_id)
            ]
            if not found:
                raise NoVoiceSession(f"user {uid} has no voice session and is no member")
            session = found[-1]
            ch, simulated = session.grant.channel_id, False
            max_version, sent = session.max_dave_protocol_version, list(session.dave_sent)
            joined = session.dave_joined and session.dave
        group = service.channels.get(ch)
        return DaveParticipantReport(
            user_id=uid,
            channel_id=ch,
            simulated=simulated,
            max_dave_protocol_version=max_version,
            participant=joined and group is not None and uid in group.participants,
            leaf=None if group is None else group.leaf_of(uid),
            epoch=0 if group is None else group.epoch,
            protocol_version=service.protocol_version(ch),
            sent=sent,
        )

    # -- observing clients --------------------------------------------------------------------

    def sessions(self, user: UserLike | None = None) -> list[VoiceSession]:
        """Client sessions that selected a protocol (of `user`, if given)."""
        uid = None if user is None else _user_id(user)
        return [s for s in self.gateway.ready_sessions() if uid in (None, s.grant.user_id)]

    async def wait_for_session(self, user: UserLike | None = None) -> VoiceSession:
        """Wait until a client (`user`, if given) is ready for media; bound with fail_after."""
        await self.wait_until(lambda: bool(self.sessions(user)))
        return self.sessions(user)[0]

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Return once `predicate()` holds; re-checked after every frame, packet or change."""
        while not predicate():
            await self._changed.wait()

    def recording(self, user: UserLike | None = None) -> StreamRecording:
        """The stream a client sent (`user`'s, or the only one)."""
        uid = None if user is None else _user_id(user)
        found = [r for r in self.recordings.values() if uid in (None, r.user_id)]
        if len(found) != 1:
            who = "any client" if uid is None else f"user {uid}"
            raise NoVoiceSession(
                f"expected one recorded stream from {who}, found {len(found)} "
                f"(streams from users {sorted(r.user_id for r in self.recordings.values())})"
            )
        return found[0]

    def received_pcm(self, user: UserLike | None = None) -> Pcm:
        """Decrypted, decoded audio a client sent: 48 kHz stereo."""
        return self.recording(user).pcm()

    def jitter_stats(self, user: UserLike | None = None) -> JitterStats:
        """Timing, loss and reordering of a client's packets."""
        return self.recording(user).jitter()

    # -- acting as simulated members ----------------------------------------------------------

    def member_stream(self, user: UserLike) -> MemberStream:
        """The outgoing stream of simulated member `user` (made on first use)."""
        uid = _user_id(user)
        if uid not in self.members:
            self.members[uid] = MemberStream(uid, MEMBER_SSRC_BASE + len(self.members))
        return self.members[uid]

    async def play(
        self,
        user: UserLike,
        audio: Pcm | str | bytes,
        *,
        loss: Trouble = 0.0,
        reorder: Trouble = 0.0,
        channel_id: int | str | None = None,
        silence_frames: int = 5,
    ) -> PlaybackReport:
        """Speak as simulated member `user` into every ready client session (of `channel_id`):
        op 5 SPEAKING first (so clients map the SSRC to the user), then one encrypted RTP
        packet every 20 ms of trio time, five silence frames, and op 5 speaking 0.

        `audio` is a `Pcm`, a path to a 16-bit WAV file, or raw s16le mono 48 kHz bytes.
        `loss` and `reorder` are probabilities (seeded by the server's seed) or packet indices.
        """
        pcm = _as_pcm(audio)
        channel = None if channel_id is None else str(channel_id)
        targets = self.gateway.ready_sessions(channel)
        if not targets:
            raise NoVoiceSession(
                "no client session is ready for media"
                + ("" if channel is None else f" in channel {channel}")
                + "; wait for one with `await voice.wait_for_session()`"
            )
        stream = self.member_stream(user)
        self._plays += 1
        rng = random.Random(f"{self.seed}/{stream.user_id}/{self._plays}")
        plan = stream.plan(pcm, loss=loss, reorder=reorder, rng=rng, silence_frames=silence_frames)
        self._deliver(self.gateway.speaking(stream.user_id, stream.ssrc, 1, channel))
        started = trio.current_time()
        counts = [0, 0]
        reached = {s.ssrc for s in targets}
        sent = await self._send_plan(plan, reached, started, stream, channel, counts)
        self._deliver(self.gateway.speaking(stream.user_id, stream.ssrc, 0, channel))
        return PlaybackReport(
            user_id=stream.user_id,
            ssrc=stream.ssrc,
            sessions=len(reached),
            frames=plan.frames,
            packets_sent=sent,
            dropped=plan.dropped,
            reordered=plan.reordered,
            started_at=started,
            finished_at=trio.current_time(),
            dave_encrypted=counts[0],
            dave_plain=counts[1],
        )

    async def _send_plan(
        self,
        plan: PlaybackPlan,
        reached: set[int],
        started: float,
        stream: MemberStream,
        channel: str | None,
        counts: list[int],
    ) -> int:
        """Send the plan's packets on time to every session ready at that moment (one that
        becomes ready mid-utterance gets op 5 first, then the rest of it); `reached` gathers
        the SSRCs of the sessions it went to."""
        media = self._media
        assert media is not None, "the server is not serving"
        user_id = stream.user_id
        sent = 0
        for packet in plan.packets:
            await trio.sleep_until(started + packet.at)
            targets = self.gateway.ready_sessions(channel)
            for session in targets:
                if session.ssrc not in reached:
                    reached.add(session.ssrc)
                    self._deliver(self.gateway.speaking_to(session, user_id, stream.ssrc, 1))
            payload = packet.payload
            if payload != SILENCE_FRAME:
                # DAVE inside the transport AEAD: once per packet, the same frame to everyone.
                member = self.gateway.dave_member(user_id, channel)
                encrypted = member.encrypt(payload) if member is not None and member.ready else None
                if encrypted is not None:
                    payload = encrypted
                    counts[0] += 1
                else:
                    counts[1] += 1
            for session in targets:
                await media.send(session, packet.header, payload)
            sent += 1
        last = plan.packets[-1].at if plan.packets else 0.0
        await trio.sleep_until(started + last + FRAME_SECONDS)
        return sent

    # -- faults -------------------------------------------------------------------------------

    def drop_socket(self, code: int = VoiceCloseCode.SERVER_CRASHED) -> None:
        """Close every voice websocket (default 4015): clients should RESUME; UDP goes on."""
        self._deliver(self.gateway.drop_all(code))

    # -- I/O ----------------------------------------------------------------------------------

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()
        for callback in self.on_change:
            callback()

    def _deliver(self, actions: list[VoiceAction]) -> None:
        for action in actions:
            if isinstance(action, SessionReady):
                continue
            outbox = self._outboxes.get(action.connection_id)
            if outbox is None:
                continue
            if isinstance(action, (SendJson, SendBinary)):
                outbox.send.send_nowait(action.payload)
            else:
                outbox.send.send_nowait(action)
        self._deadlines.set()  # a DAVE transition may have started: its timeout is a deadline
        self._notify()

    async def handle_websocket(self, request: WebSocketRequest) -> None:
        """trio-websocket handler for one voice gateway connection."""
        try:
            await self._handle(request)
        except ConnectionClosed:
            _log.info("sandbox voice: client left during the handshake")

    async def _handle(self, request: WebSocketRequest) -> None:
        query = parse_qs(urlsplit(request.path).query)
        raw = query.get("v", [None])[0]
        version = int(raw) if raw is not None and raw.isdigit() else None
        ws = await request.accept()
        outbox = _Outbox()
        cid, hello = self.gateway.open_connection(trio.current_time(), version=version)
        self._outboxes[cid] = outbox
        self._deliver(hello)
        self._deadlines.set()
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._read, ws, cid, outbox)
                await self._write(ws, outbox)
                nursery.cancel_scope.cancel()
        finally:
            del self._outboxes[cid]
            self.gateway.connection_closed(cid)
            self._notify()

    async def _read(self, ws: WebSocketConnection, cid: int, outbox: _Outbox) -> None:
        while True:
            try:
                message = await ws.get_message()
            except ConnectionClosed:
                outbox.send.send_nowait(None)
                return
            if isinstance(message, str):
                actions = self.gateway.receive_text(cid, message, trio.current_time())
            else:
                actions = self.gateway.receive_binary(cid, message, trio.current_time())
            self._deliver(actions)

    async def _write(self, ws: WebSocketConnection, outbox: _Outbox) -> None:
        async for item in outbox.receive:
            if item is None:
                return
            if isinstance(item, Close):
                with trio.move_on_after(_CLOSE_HANDSHAKE_TIMEOUT):
                    await ws.aclose(item.code, item.reason)
                return
            try:
                await ws.send_message(item if isinstance(item, bytes) else json.dumps(item))
            except ConnectionClosed:
                return

    async def _heartbeat_watch(self) -> None:
        while True:
            deadline = self.gateway.next_deadline()
            self._deadlines = trio.Event()
            with trio.move_on_at(math.inf if deadline is None else deadline):
                await self._deadlines.wait()
            self._deliver(self.gateway.poll(trio.current_time()))


def _now() -> float:
    return trio.current_time()


def _as_pcm(audio: Pcm | str | bytes) -> Pcm:
    if isinstance(audio, Pcm):
        return audio
    if isinstance(audio, str):
        return read_wav(audio)
    if isinstance(audio, (bytes, bytearray)):
        return Pcm(bytes(audio))
    raise TypeError(f"play() takes a Pcm, a WAV path or s16le bytes, got {type(audio).__name__}")


@contextmanager
def _closing(ca: LocalCa | None) -> Iterator[None]:
    try:
        yield
    finally:
        if ca is not None:
            ca.close()


@asynccontextmanager
async def open_voice_server(
    *,
    host: str = "127.0.0.1",
    modes: tuple[TransportMode, ...] = tuple(TransportMode),
    heartbeat_interval_ms: int = 13_750,
    seed: int = 0,
    tls: bool = True,
    dave: bool = True,
    dave_transition_timeout: float | None = None,
) -> AsyncIterator[VoiceServer]:
    """Serve a sandbox voice gateway (`server.url`, `wss://host:port`; `server.endpoint` is
    `host:port`) and UDP media socket on `host` (ephemeral ports) for the block's duration.

    `tls=False` serves plain `ws://` and sets `endpoint` to the `ws://host:port` URL: not what
    Discord does, only for clients that cannot be given a CA to trust.

    `dave=True` (the default) makes it a DAVE server: a `DaveDeliveryService` on the `dave-sim`
    helper (`clankvox/target/release/dave-sim`, built by scripts/bootstrap; missing, it raises
    `DaveSimMissing`), with `dave_transition_timeout` seconds (default 2) before a transition
    executes without everyone's op 23. `dave=False`: op 4 says protocol 0, DAVE ops are ignored.
    """
    async with AsyncExitStack() as stack:
        service = None
        if dave:
            sender = stack.enter_context(MlsExternalSender())
            timeout = DEFAULT_TRANSITION_TIMEOUT
            if dave_transition_timeout is not None:
                timeout = dave_transition_timeout
            service = DaveDeliveryService(sender, transition_timeout=timeout)
        server = VoiceServer(
            modes=modes, heartbeat_interval_ms=heartbeat_interval_ms, seed=seed, dave=service
        )
        async with _serving(server, host, tls) as running:
            yield running


@asynccontextmanager
async def _serving(server: VoiceServer, host: str, tls: bool) -> AsyncIterator[VoiceServer]:
    server.ca = LocalCa.generate() if tls else None
    sock = trio.socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with sock, _closing(server.ca):
        await sock.bind((host, 0))
        server._media = MediaSocket(sock, server.gateway, server._notify)
        server.gateway.udp_address = (host, sock.getsockname()[1])
        async with trio.open_nursery() as nursery:
            ws_server = await nursery.start(
                partial(
                    trio_websocket.serve_websocket,
                    server.handle_websocket,
                    host,
                    0,
                    ssl_context=None if server.ca is None else server.ca.server_context(),
                    handler_nursery=nursery,
                )
            )
            address = f"[{host}]:{ws_server.port}" if ":" in host else f"{host}:{ws_server.port}"
            server.url = f"{'ws' if server.ca is None else 'wss'}://{address}"
            server.endpoint = address if server.ca is not None else server.url
            nursery.start_soon(server._media.serve)
            nursery.start_soon(server._heartbeat_watch)
            try:
                yield server
            finally:
                nursery.cancel_scope.cancel()
