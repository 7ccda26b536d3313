"""`Sandbox`: a running local Discord and the scripting API to act in it.

`open_sandbox(world)` serves the REST API (a small h11 server), the gateway (trio-websocket) and
the voice server (voice gateway + UDP media, `clanker.sandbox.voice`) on loopback ports inside
the caller's trio run, and yields a `Sandbox`. Tests and
the future `clanker sandbox` command use it to act as simulated members, see what the bot did, and
inject faults. All methods run in the trio thread; the mutating ones are synchronous because the
world and the gateway hub are plain objects.
"""

from __future__ import annotations

import mimetypes
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from functools import partial

import trio
import trio_websocket

from clanker.sandbox import payloads
from clanker.sandbox.faults import RestFaults
from clanker.sandbox.gateway import CloseCode, GatewayHub, GatewayStats, VoiceUpdateTiming
from clanker.sandbox.gateway_server import GatewayServer, SentDispatch
from clanker.sandbox.http_server import HttpRequest, serve_http
from clanker.sandbox.operations import SandboxOperations
from clanker.sandbox.rest import ROUTE_KEYS, RestApi, RestCall
from clanker.sandbox.voice import TransportMode, VoiceServer, open_voice_server
from clanker.sandbox.world import Channel, Emoji, Guild, Member, Message, User, World

DEFAULT_VOICE_ENDPOINT = "voice.sandbox.invalid:443"


def _id(thing: User | Channel | Guild | Message | int) -> int:
    return thing if isinstance(thing, int) else thing.id


class Sandbox:
    """A local Discord: world state, REST and gateway, plus the handles to script it.

    Build with `open_sandbox`; `rest_url` and `gateway_url` are set once it is serving.
    """

    def __init__(
        self,
        world: World,
        *,
        voice_endpoint: str = DEFAULT_VOICE_ENDPOINT,
        heartbeat_interval_ms: int = 41_250,
    ) -> None:
        self.world = world
        self.rest_url = ""
        self.gateway_url = ""
        self.faults = RestFaults(ROUTE_KEYS)
        self.hub = GatewayHub(
            world, voice_endpoint=voice_endpoint, heartbeat_interval_ms=heartbeat_interval_ms
        )
        self.gateway = GatewayServer(self.hub, on_change=self._notify)
        self.ops = SandboxOperations(
            world, self.hub, deliver=self.gateway.deliver, on_change=self._notify
        )
        self.rest = RestApi(
            self.ops, self.faults, gateway_url=lambda: self.gateway_url, on_change=self._notify
        )
        self._changed = trio.Event()
        self._returned_bot_messages: set[int] = set()
        self.voice: VoiceServer | None = None

    def attach_voice(self, voice: VoiceServer) -> None:
        """Use `voice` as this sandbox's voice server: op 4 answers point at it and it accepts
        the credentials they carry (`open_sandbox` does this unless told not to)."""
        self.voice = voice
        self.hub.voice_endpoint = voice.endpoint
        self.hub.on_voice_grant = voice.grant
        self.hub.on_voice_leave = voice.revoke
        voice.on_change.append(self._notify)

    @property
    def token(self) -> str:
        """The token the bot's account logs in with."""
        return self.world.token

    # -- acting as simulated members ----------------------------------------------------------

    def post_message(
        self,
        author: User | int,
        channel: Channel | int,
        content: str,
        *,
        reply_to: Message | int | None = None,
        attachments: Sequence[tuple[str, bytes] | tuple[str, str | None, bytes]] = (),
    ) -> Message:
        """Post `content` in `channel` as `author`; connected clients get MESSAGE_CREATE.

        `attachments` are (filename, bytes) or (filename, content type, bytes); as on Discord
        the type is guessed from the filename when not given, images get width and height,
        and each gets a signed link served by the sandbox's CDN (`rest_url` + /attachments/…).
        """
        reference = None if reply_to is None else _id(reply_to)
        files: list[tuple[str, str | None, bytes]] = []
        for item in attachments:
            if len(item) == 2:
                filename, data = item
                files.append((filename, mimetypes.guess_type(filename)[0], data))
            else:
                files.append(item)
        return self.ops.post_message(
            _id(author), _id(channel), content, reference_id=reference, attachments=files or None
        )

    def expire_attachment_links(self) -> None:
        """Every attachment link handed out so far stops working (Discord's links expire);
        a message fetched again carries fresh ones."""
        self.world.expire_attachment_links()

    @property
    def cdn_requests(self) -> list[HttpRequest]:
        """Every request to the attachment CDN, in order."""
        return self.rest.cdn_requests

    def open_dm(self, user: User | int) -> Channel:
        """The DM channel between `user` and the bot (CHANNEL_CREATE to the bot when new);
        `post_message(user, dm, text)` then DMs the bot, and its replies land in `dm`."""
        return self.ops.open_dm(_id(user))

    def edit_message(self, message: Message | int, content: str) -> Message:
        """Edit a message as its author (MESSAGE_UPDATE)."""
        mid = _id(message)
        return self.ops.edit_message(mid, content, editor_id=self.world.message(mid).author_id)

    def delete_message(self, message: Message | int) -> None:
        """Delete a message as its author (MESSAGE_DELETE)."""
        mid = _id(message)
        self.ops.delete_message(mid, deleter_id=self.world.message(mid).author_id)

    def react(self, user: User | int, message: Message | int, emoji: str) -> bool:
        """Add `user`'s reaction (`"👍"` or `"name:id"`); False if it was already there."""
        return self.ops.add_reaction(_id(message), _id(user), Emoji.parse(emoji))

    def unreact(self, user: User | int, message: Message | int, emoji: str) -> bool:
        """Remove `user`'s reaction; False if there was none."""
        return self.ops.remove_reaction(_id(message), _id(user), Emoji.parse(emoji))

    def start_typing(self, user: User | int, channel: Channel | int) -> None:
        """Show `user` typing in `channel` (TYPING_START)."""
        self.ops.start_typing(_id(channel), _id(user))

    def add_member(self, guild: Guild | int, username: str) -> Member:
        """A new user joins `guild` (GUILD_MEMBER_ADD)."""
        return self.ops.add_member(_id(guild), username)

    def join_voice(self, user: User | int, channel: Channel | int) -> None:
        """`user` connects to voice `channel`: VOICE_STATE_UPDATE on the gateway, and op 11 to
        voice clients in that channel. Then `await sb.voice.play(user, audio)` to speak."""
        channel_obj = self.world.channel(_id(channel))
        guild_id = channel_obj.guild_id
        assert guild_id is not None
        state = self.world.set_voice_state(
            guild_id, _id(user), channel_obj.id, session_id=f"sandbox-member-{_id(user)}"
        )
        update = payloads.voice_state(self.world, state, guild_id=guild_id, user_id=_id(user))
        self.gateway.deliver(self.hub.dispatch("VOICE_STATE_UPDATE", update))
        if self.voice is not None:
            self.voice.member_joined(channel_obj.id, _id(user))
        self._notify()

    def leave_voice(self, user: User | int, guild: Guild | int) -> None:
        """`user` disconnects from voice in `guild` (VOICE_STATE_UPDATE, op 13)."""
        old = self.world.voice_states.get((_id(guild), _id(user)))
        if old is None:
            return
        self.world.set_voice_state(_id(guild), _id(user), None, session_id="")
        update = payloads.voice_state(self.world, None, guild_id=_id(guild), user_id=_id(user))
        self.gateway.deliver(self.hub.dispatch("VOICE_STATE_UPDATE", update))
        if self.voice is not None:
            self.voice.member_left(old.channel_id, _id(user))
        self._notify()

    # -- observing the bot --------------------------------------------------------------------

    def bot_messages(self, channel: Channel | int | None = None) -> list[Message]:
        """Everything the bot posted (deleted ones included, flagged), oldest first."""
        cid = None if channel is None else _id(channel)
        return [
            m
            for m in sorted(self.world.messages.values(), key=lambda m: m.id)
            if m.author_id == self.world.bot.id and cid in (None, m.channel_id)
        ]

    async def next_bot_message(self, channel: Channel | int | None = None) -> Message:
        """Wait for the oldest bot message this method has not returned yet (optionally only in
        `channel`) and return it. Bound the wait with `trio.fail_after`.
        """
        cid = None if channel is None else _id(channel)
        found: list[Message] = []

        def unseen() -> bool:
            for message in self.bot_messages(cid):
                if message.id not in self._returned_bot_messages:
                    found.append(message)
                    return True
            return False

        await self.wait_until(unseen)
        self._returned_bot_messages.add(found[0].id)
        return found[0]

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Return once `predicate()` is true; it is re-checked after every sandbox change
        (world, REST call, gateway frame or connection). Bound it with `trio.fail_after`.
        """
        while not predicate():
            await self._changed.wait()

    @property
    def rest_calls(self) -> list[RestCall]:
        """Every REST request the sandbox answered, in arrival order."""
        return self.rest.calls

    @property
    def sent_dispatches(self) -> list[SentDispatch]:
        """Every dispatch written to a client (event, seq, data, trio time), in send order."""
        return self.gateway.sent_dispatches

    @property
    def unknown_routes(self) -> list[RestCall]:
        """REST calls to routes the sandbox does not emulate (should stay empty)."""
        return [call for call in self.rest_calls if call.route is None]

    @property
    def gateway_stats(self) -> GatewayStats:
        """Gateway counters: connections, identifies, resumes, invalid sessions, heartbeats."""
        return self.hub.stats

    # -- faults -------------------------------------------------------------------------------

    def drop_gateway(self, code: int = CloseCode.UNKNOWN_ERROR) -> None:
        """Close every gateway connection; clients should RESUME and get what they missed."""
        self.gateway.deliver(self.hub.drop_all(code))
        self._notify()

    def stall_gateway(self, seconds: float) -> None:
        """Freeze the gateway for `seconds`: no frames read or sent, no heartbeat ACKs, no new
        connections. Dispatches produced meanwhile are held (and replayed on RESUME).
        """
        self.gateway.gate.stall(seconds)

    def invalidate_sessions(self) -> None:
        """Make existing sessions unresumable: the next RESUME gets INVALID_SESSION."""
        self.hub.invalidate_sessions()

    def delay_route(
        self, route: str, seconds: float, *, times: int | None = None, channel: int | None = None
    ) -> None:
        """Delay answers on `route` (e.g. `"POST /channels/{channel_id}/messages"`), only for
        `channel` if given."""
        self.faults.delay(route, seconds, times=times, channel=channel)

    def fail_route(
        self,
        route: str,
        status: int,
        *,
        times: int | None = 1,
        retry_after: float | None = None,
        is_global: bool = False,
        channel: int | None = None,
    ) -> None:
        """Answer the next `times` requests on `route` (only for `channel`, if given) with
        `status` (429: with `retry_after`)."""
        self.faults.fail(
            route,
            status,
            times=times,
            retry_after=retry_after,
            is_global=is_global,
            channel=channel,
        )

    def clear_faults(self) -> None:
        """Remove every REST fault rule."""
        self.faults.clear()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()


@asynccontextmanager
async def open_sandbox(
    world: World,
    *,
    host: str = "127.0.0.1",
    voice: bool = True,
    voice_endpoint: str | None = None,
    voice_modes: tuple[TransportMode, ...] = tuple(TransportMode),
    voice_seed: int = 0,
    voice_tls: bool = True,
    voice_timing: VoiceUpdateTiming | None = None,
    voice_dave: bool = True,
    heartbeat_interval_ms: int = 41_250,
) -> AsyncIterator[Sandbox]:
    """Serve `world` as a local Discord on `host` (ephemeral ports) for the block's duration.

    With `voice` (the default) a sandbox voice server runs too (`sb.voice`) and
    VOICE_SERVER_UPDATE's `endpoint` is its bare `host:port`, as on Discord: clients connect
    to `wss://host:port/?v=8` and must trust `sb.voice.ca_file`. `voice_modes` restricts the
    encryption modes it offers; `voice_tls=False` serves plain `ws://` (and advertises that
    URL) for clients that cannot be given a CA. `voice_timing` sets when and in which order the
    two voice updates answer an op 4 (default: state then server, 15 and 30 ms later).
    Passing `voice_endpoint` instead advertises that endpoint and starts no voice server.
    `voice_dave` (default on) makes the voice server a DAVE (end-to-end encrypted) server;
    `voice_dave=False` answers op 4 with protocol 0 and ignores DAVE ops.
    """
    sandbox = Sandbox(
        world,
        voice_endpoint=voice_endpoint or DEFAULT_VOICE_ENDPOINT,
        heartbeat_interval_ms=heartbeat_interval_ms,
    )
    if voice_timing is not None:
        sandbox.hub.voice_timing = voice_timing
    async with AsyncExitStack() as stack:
        if voice and voice_endpoint is None:
            server = await stack.enter_async_context(
                open_voice_server(
                    host=host, modes=voice_modes, seed=voice_seed, tls=voice_tls, dave=voice_dave
                )
            )
            sandbox.attach_voice(server)
        async with _serve(sandbox, host):
            yield sandbox


@asynccontextmanager
async def _serve(sandbox: Sandbox, host: str) -> AsyncIterator[None]:
    async with trio.open_nursery() as nursery:
        sandbox.gateway.background = nursery
        rest_port = await nursery.start(partial(serve_http, sandbox.rest.handle, host))
        sandbox.rest_url = f"http://{host}:{rest_port}"
        sandbox.world.cdn_url = sandbox.rest_url
        ws_server = await nursery.start(
            partial(
                trio_websocket.serve_websocket,
                sandbox.gateway.handle,
                host,
                0,
                ssl_context=None,
                handler_nursery=nursery,
            )
        )
        sandbox.gateway_url = f"ws://{host}:{ws_server.port}/"
        sandbox.hub.gateway_url = sandbox.gateway_url
        try:
            yield
        finally:
            nursery.cancel_scope.cancel()
