"""`VoiceJoin`: what joining a voice channel takes, without I/O (the `VoiceLink` actor's core).

Joining is a conversation between three parties: the main Discord gateway (op 4 out,
VOICE_STATE_UPDATE and VOICE_SERVER_UPDATE back), clankvox (which needs five values to
connect: guild id, our user id, the voice session id, the endpoint and the token) and whoever
wants to speak or listen. This object remembers what each party said and answers every input
with the actions to carry out:

* `start()` → op 4 asking the gateway to put us in the channel.
* `voice_state(...)` / `voice_server(...)` (the bot's own updates) → a `Connect` command once all
  five values are known, and again whenever one of them changes (a server move, a new session).
  A VOICE_SERVER_UPDATE with no endpoint (the server is being reallocated) is passed on as
  `VoiceServer(endpoint=None)`, which makes clankvox close and wait.
* `clankvox_started()` → a new clankvox process knows nothing: `Connect` again with the latest
  values, then every subscription again.
* `subscribe(...)` / `unsubscribe(...)` → the command now, and remembered for the next process.
* `leave()` → op 4 with no channel, then `Destroy`.

`Connect` is the protocol's one-shot join (docs/clankvox-protocol.md §2.1): we send op 4
ourselves, so clankvox never has to ask for it with `adapter_send`.

No join hangs. Each connect attempt must end in clankvox's `ready` within `ready_deadline`
seconds; an `error` event while connecting (clankvox refused the command, or could not reach
the voice server) or the deadline passing fails the attempt: `JoinFailed` (for the link to log
and record) and a retry after a backoff (1 s, 2 s, 4 s ... at most 30 s), due when `poll()`
is called at or after `next_deadline()`. A clankvox that does not know `connect` (the original
system's speaks only `join` + `voice_state` + `voice_server`) answers it with `invalid_json`:
from then on this join uses that three-command flow, and the op 4 that clankvox asks for with
`adapter_send` is not sent again when it is the one already sent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import msgspec

from clanker.voice.commands import (
    ClankvoxCommand,
    Connect,
    Destroy,
    Join,
    SubscribeUser,
    UnsubscribeUser,
    VoiceServer,
    VoiceServerData,
    VoiceState,
    VoiceStateData,
)

READY_DEADLINE = 30.0
"""Seconds from a connect attempt to clankvox's `ready` before the attempt counts as failed
(clankvox's own handshake steps time out after 10 s each)."""

RETRY_DELAYS = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0)
"""Backoff before the 1st, 2nd ... retry of a failed connect attempt (the last one repeats)."""

# clankvox error codes that mean it refused the connect command (while connecting).
_REFUSALS = frozenset({"invalid_json", "invalid_request", "unsupported"})


class JoinPhase(StrEnum):
    """Where the join stands."""

    IDLE = "idle"  # start() not called yet
    ASKED = "asked"  # op 4 sent; waiting for the gateway's two updates
    CONNECTING = "connecting"  # Connect sent; waiting for clankvox's `ready`
    READY = "ready"  # clankvox reported `ready`
    RETRYING = "retrying"  # an attempt failed; the next one is due at `retry_at`
    MOVED = "moved"  # the gateway put us in another channel (or none): we are not there
    LEFT = "left"  # leave() was called


@dataclass(frozen=True)
class GatewayVoiceState:
    """Send op 4 (voice state update) on the main gateway with this `d`."""

    data: dict[str, Any]


@dataclass(frozen=True)
class JoinFailed:
    """A connect attempt failed (`reason` says why); the next one starts in `retry_in` s, or
    on clankvox's own backoff when None (it retries a voice server that failed by itself)."""

    reason: str
    attempt: int  # failed attempts since the last `ready`
    retry_in: float | None


JoinAction = GatewayVoiceState | ClankvoxCommand | JoinFailed


@dataclass(frozen=True)
class Subscription:
    """A user whose audio clankvox should decode and forward."""

    user_id: int
    sample_rate: int = 24_000
    silence_duration_ms: int = 700
    jitter_buffer_ms: int = 60

    def command(self) -> SubscribeUser:
        return SubscribeUser(
            user_id=str(self.user_id),
            sample_rate=self.sample_rate,
            silence_duration_ms=self.silence_duration_ms,
            jitter_buffer_ms=self.jitter_buffer_ms,
        )


class VoiceJoin:
    """See the module docstring. Ids are ints (as the bridge's events carry them)."""

    def __init__(
        self,
        *,
        guild_id: int,
        channel_id: int,
        user_id: int,
        self_mute: bool = False,
        mode: str | None = None,
        clock: Callable[[], float] = lambda: 0.0,
        ready_deadline: float = READY_DEADLINE,
    ) -> None:
        self.clock = clock
        self.ready_deadline = ready_deadline
        self.legacy = False  # clankvox refused `connect`: join with the three-command flow
        self.failures = 0  # failed attempts since the last `ready`
        self.last_error: str | None = None
        self.deadline: float | None = None  # when the current attempt must have been ready
        self.retry_at: float | None = None
        self.guild_id = guild_id
        self.channel_id = channel_id
        self.user_id = user_id
        self.self_mute = self_mute
        self.mode = mode
        self.phase = JoinPhase.IDLE
        self.session_id: str | None = None
        self.endpoint: str | None = None
        self.token: str | None = None
        self.connects = 0  # Connect commands produced
        self.subscriptions: dict[int, Subscription] = {}
        self._sent: Connect | None = None  # the last Connect the current process got

    # -- the gateway ----------------------------------------------------------------------------

    def start(self) -> list[JoinAction]:
        """Ask the gateway to put us in the channel."""
        self.phase = JoinPhase.ASKED
        return [self._op4(self.channel_id)]

    def voice_state(
        self, *, guild_id: int | None, user_id: int, channel_id: int | None, session_id: str
    ) -> list[JoinAction]:
        """A VOICE_STATE_UPDATE. Only the bot's own, for this guild, matters here."""
        if self.phase == JoinPhase.LEFT or guild_id != self.guild_id or user_id != self.user_id:
            return []
        if channel_id != self.channel_id:
            # Moved or disconnected by someone else: the credentials no longer hold.
            if self.phase != JoinPhase.ASKED:
                self.phase = JoinPhase.MOVED
            return []
        if self.phase == JoinPhase.MOVED:
            self.phase = JoinPhase.ASKED
        self.session_id = session_id
        return self._connect_if_complete()

    def voice_server(
        self, *, guild_id: int | None, endpoint: str | None, token: str
    ) -> list[JoinAction]:
        """A VOICE_SERVER_UPDATE for this guild (forward every one: the server can move)."""
        if self.phase == JoinPhase.LEFT or guild_id != self.guild_id:
            return []
        self.token = token
        if endpoint is None:
            # Being reallocated: clankvox closes and waits for the next one.
            self.endpoint = None
            self._sent = None
            return [VoiceServer(data=VoiceServerData(endpoint=None, token=token))]
        self.endpoint = endpoint
        return self._connect_if_complete()

    def set_self_mute(self, muted: bool) -> list[JoinAction]:
        """Mute or unmute ourselves: op 4 for the same channel with the new flag (Discord
        answers with a VOICE_STATE_UPDATE only; the voice connection stays up). The `Connect`
        already sent is updated, not sent again (only the legacy join flow reads the flag)."""
        if muted == self.self_mute:
            return []
        self.self_mute = muted
        if self._sent is not None:
            self._sent = msgspec.structs.replace(self._sent, self_mute=muted)
        if self.phase in (JoinPhase.IDLE, JoinPhase.LEFT, JoinPhase.MOVED):
            return []  # not in the channel: the flag goes with the next op 4 for it
        return [self._op4(self.channel_id)]

    def leave(self) -> list[JoinAction]:
        """Leave the channel and end clankvox."""
        if self.phase == JoinPhase.LEFT:
            return []
        self.phase = JoinPhase.LEFT
        return [self._op4(None), Destroy()]

    # -- clankvox -------------------------------------------------------------------------------

    def clankvox_started(self) -> list[JoinAction]:
        """A (new) clankvox process is running: it knows nothing, so tell it everything."""
        self._sent = None
        if self.phase == JoinPhase.LEFT:
            return []
        if self.phase == JoinPhase.READY:
            self.phase = JoinPhase.CONNECTING
        actions = self._connect_if_complete()
        if actions:
            # Subscriptions already went out in _connect_if_complete (fresh process).
            return actions
        return [s.command() for s in self.subscriptions.values()]

    def clankvox_ready(self) -> None:
        """clankvox reported `ready` (a connection finished its handshake)."""
        if self.phase in (JoinPhase.CONNECTING, JoinPhase.RETRYING):
            self.phase = JoinPhase.READY
        self.deadline = self.retry_at = None
        self.failures = 0

    def clankvox_error(self, code: str, message: str) -> list[JoinAction]:
        """clankvox reported an `error`. While connecting, a refusal of the command ends the
        attempt (we retry after a backoff); a failed voice connection is counted and reported
        while clankvox retries it on its own backoff (the deadline starts again)."""
        if self.phase != JoinPhase.CONNECTING:
            return []
        if code == "voice_connect_failed":
            self.failures += 1
            self.last_error = f"clankvox could not connect to the voice server: {message}"
            self.deadline = self.clock() + self.ready_deadline
            return [JoinFailed(reason=self.last_error, attempt=self.failures, retry_in=None)]
        if code not in _REFUSALS:
            return []
        if code == "invalid_json" and not self.legacy and "connect" in message:
            # The original's clankvox has no `connect` ("unknown variant `connect`"): use its
            # join flow from now on, at once (not a failure of the voice server).
            self.legacy = True
            self._sent = None
            return self._connect_if_complete()
        return self._fail(f"clankvox refused the join ({code}: {message})")

    def next_deadline(self) -> float | None:
        """When `poll` has something to do (the attempt's deadline or the retry)."""
        if self.phase == JoinPhase.CONNECTING:
            return self.deadline
        if self.phase == JoinPhase.RETRYING:
            return self.retry_at
        return None

    def poll(self) -> list[JoinAction]:
        """Fail an attempt that is past its deadline; start a retry that is due."""
        now = self.clock()
        if self.phase == JoinPhase.CONNECTING and self.deadline is not None:
            if now >= self.deadline:
                return self._fail(
                    f"clankvox was not ready {self.ready_deadline:g} s after the connect"
                )
        elif (
            self.phase == JoinPhase.RETRYING and self.retry_at is not None and now >= self.retry_at
        ):
            self.retry_at = None
            self.phase = JoinPhase.ASKED
            self._sent = None
            return self._connect_if_complete()
        return []

    def is_repeat_of_our_op4(self, data: dict[str, Any]) -> bool:
        """Whether an `adapter_send` op 4 asks for what we already sent (the legacy flow's)."""
        return self.legacy and data == self._op4(self.channel_id).data

    def _fail(self, reason: str) -> list[JoinAction]:
        self.failures += 1
        self.last_error = reason
        delay = RETRY_DELAYS[min(self.failures, len(RETRY_DELAYS)) - 1]
        self.phase = JoinPhase.RETRYING
        self.deadline = None
        self.retry_at = self.clock() + delay
        return [JoinFailed(reason=reason, attempt=self.failures, retry_in=delay)]

    def subscribe(self, subscription: Subscription) -> list[JoinAction]:
        """Listen to a user (remembered across clankvox restarts)."""
        self.subscriptions[subscription.user_id] = subscription
        return [subscription.command()]

    def unsubscribe(self, user_id: int) -> list[JoinAction]:
        """Stop listening to a user."""
        if self.subscriptions.pop(user_id, None) is None:
            return []
        return [UnsubscribeUser(user_id=str(user_id))]

    # -- helpers --------------------------------------------------------------------------------

    def connect_command(self) -> Connect | None:
        """The `Connect` the current values make, or None while one is missing."""
        if self.session_id is None or self.endpoint is None or self.token is None:
            return None
        return Connect(
            guild_id=str(self.guild_id),
            channel_id=str(self.channel_id),
            user_id=str(self.user_id),
            session_id=self.session_id,
            endpoint=self.endpoint,
            token=self.token,
            self_mute=self.self_mute,
            mode=self.mode,
        )

    def _connect_if_complete(self) -> list[JoinAction]:
        command = self.connect_command()
        if command is None or command == self._sent or self.phase == JoinPhase.MOVED:
            return []
        if self.phase == JoinPhase.RETRYING:
            self._sent = None  # remembered for the retry, which sends the latest values
            return []
        fresh = self._sent is None
        self._sent = command
        self.connects += 1
        if self.phase in (JoinPhase.ASKED, JoinPhase.READY):
            self.phase = JoinPhase.CONNECTING
        self.deadline = self.clock() + self.ready_deadline
        actions: list[JoinAction] = list(self._connect_lines(command))
        if fresh:
            # A process that never got a Connect has no subscriptions either.
            actions += [s.command() for s in self.subscriptions.values()]
        return actions

    def _connect_lines(self, command: Connect) -> list[ClankvoxCommand]:
        if not self.legacy:
            return [command]
        return [
            Join(
                guild_id=command.guild_id,
                channel_id=command.channel_id,
                self_mute=command.self_mute,
            ),
            VoiceState(
                data=VoiceStateData(
                    session_id=command.session_id,
                    user_id=command.user_id,
                    channel_id=command.channel_id,
                )
            ),
            VoiceServer(data=VoiceServerData(endpoint=command.endpoint, token=command.token)),
        ]

    def _op4(self, channel_id: int | None) -> GatewayVoiceState:
        return GatewayVoiceState(
            data={
                "guild_id": str(self.guild_id),
                "channel_id": None if channel_id is None else str(channel_id),
                "self_mute": self.self_mute,
                "self_deaf": False,
            }
        )
