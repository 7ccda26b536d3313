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
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from clanker.voice.commands import (
    ClankvoxCommand,
    Connect,
    Destroy,
    SubscribeUser,
    UnsubscribeUser,
    VoiceServer,
    VoiceServerData,
)


class JoinPhase(StrEnum):
    """Where the join stands."""

    IDLE = "idle"  # start() not called yet
    ASKED = "asked"  # op 4 sent; waiting for the gateway's two updates
    CONNECTING = "connecting"  # Connect sent; waiting for clankvox's `ready`
    READY = "ready"  # clankvox reported `ready`
    MOVED = "moved"  # the gateway put us in another channel (or none): we are not there
    LEFT = "left"  # leave() was called


@dataclass(frozen=True)
class GatewayVoiceState:
    """Send op 4 (voice state update) on the main gateway with this `d`."""

    data: dict[str, Any]


JoinAction = GatewayVoiceState | ClankvoxCommand


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
    ) -> None:
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
        if self.phase == JoinPhase.CONNECTING:
            self.phase = JoinPhase.READY

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
        fresh = self._sent is None
        self._sent = command
        self.connects += 1
        if self.phase in (JoinPhase.ASKED, JoinPhase.READY):
            self.phase = JoinPhase.CONNECTING
        actions: list[JoinAction] = [command]
        if fresh:
            # A process that never got a Connect has no subscriptions either.
            actions += [s.command() for s in self.subscriptions.values()]
        return actions

    def _op4(self, channel_id: int | None) -> GatewayVoiceState:
        return GatewayVoiceState(
            data={
                "guild_id": str(self.guild_id),
                "channel_id": None if channel_id is None else str(channel_id),
                "self_mute": self.self_mute,
                "self_deaf": False,
            }
        )
