"""`Dashboard`: the actor that serves the API and the SPA with Hypercorn inside the tree.

Hypercorn runs in the actor's background nursery (``hypercorn.trio.serve`` with a shutdown
trigger), so the server lives and dies with the actor: a graceful stop ends every open SSE
stream first (their subscriptions are closed, the generators return), then lets Hypercorn finish
within ``graceful_timeout``; a crash or kill cancels it outright.
"""

from __future__ import annotations

import logging
import socket
from functools import partial

import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve
from quart_trio import QuartTrio

from clanker.dashboard.app import create_app
from clanker.dashboard.context import ApiContext
from clanker.dashboard.redaction import scrub_all_log_records, stop_scrubbing
from clanker.dashboard.setup import DashboardSetup
from clanker.dashboard.shapes import ChatMessage
from clanker.dashboard.sse import OpenStreams
from clanker.runtime import Actor, ActorContext, Broadcast, ChildSpec, MailboxSpec, Message, handles

log = logging.getLogger("clanker.dashboard")

DASHBOARD_NAME = "dashboard"
"""The runtime-wide name `dashboard_child` registers."""
BIND_TIMEOUT = 30.0


def listen_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` (port 0: any free one), as Hypercorn would bind it;
    raises `OSError` (and leaks nothing) when it cannot be bound."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), port))
    except OSError:
        sock.close()
        raise
    return sock


class GetAddress(Message, frozen=True):
    """Ask the dashboard where it listens."""


class DashboardAddress(Message, frozen=True):
    """Where the dashboard listens, e.g. ``http://127.0.0.1:8780``; ``url`` is empty and
    ``error`` says why when it could not bind (the rest of clanker runs on without it)."""

    url: str
    error: str | None = None


class Dashboard(Actor):
    """Serves the dashboard; see the module docstring."""

    mailbox = MailboxSpec(capacity=16)

    def __init__(self, setup: DashboardSetup) -> None:
        self.setup = setup
        self.url = ""
        self.bind_error: str | None = None
        self.streams = OpenStreams()
        self._shutdown = trio.Event()
        self._bound = trio.Event()
        self._finished = trio.Event()

    async def on_start(self, ctx: ActorContext) -> None:
        """Bind and start serving; returns once the port is bound."""
        setup = self.setup
        config = setup.config
        self._install_log_scrubber()
        chat_feed: Broadcast[ChatMessage] | None = None
        if setup.sandbox is not None:
            chat_feed = Broadcast(default_capacity=config.subscriber_capacity)
            ctx.start_soon(self._pump_chat, chat_feed)
        api = ApiContext(
            config=config,
            auth=setup.auth,
            secrets=setup.secrets,
            runtime=ctx.runtime,
            hub=setup.hub,
            settings=setup.settings_for(ctx.runtime),
            directory=(
                setup.directory_for(ctx.runtime) if setup.directory_for else setup.directory
            ),
            sandbox=setup.sandbox,
            streams=self.streams,
            version=setup.version,
            started_at=trio.current_time(),
            chat_feed=chat_feed,
        )
        hc = HypercornConfig()
        try:
            listening = listen_socket(config.host, config.port)
        except OSError as exc:
            # The port is taken (or the address is not ours): restarting would not help, and a
            # crash loop here must not take the bot down. Say so, serve nothing, keep running.
            self.bind_error = f"cannot listen on {config.host}:{config.port}: {exc.strerror or exc}"
            log.error(
                "the dashboard is not running: %s (set DASHBOARD_PORT to a free port)",
                self.bind_error,
            )
            self._finished.set()  # nothing to stop
            return
        # Hypercorn takes the bound socket over (and closes it when it stops).
        hc.bind = [f"fd://{listening.detach()}"]
        if config.certfile is not None and config.keyfile is not None:
            hc.certfile, hc.keyfile = str(config.certfile), str(config.keyfile)
        hc.graceful_timeout = config.graceful_timeout
        hc.accesslog = None
        hc.errorlog = logging.getLogger("hypercorn.error")
        ctx.start_soon(self._serve, create_app(api), hc)
        with trio.fail_after(BIND_TIMEOUT):
            await self._bound.wait()
        if self.bind_error is None:
            setup.announce_once(self.url)

    async def _serve(self, app: QuartTrio, hc: HypercornConfig) -> None:
        try:
            async with trio.open_nursery() as nursery:
                binds = await nursery.start(
                    partial(serve, app, hc, shutdown_trigger=self._shutdown.wait)
                )
                self.url = binds[0]
                self._bound.set()
        finally:
            self._finished.set()
        if not self._shutdown.is_set():
            raise RuntimeError("the dashboard's HTTP server stopped on its own")

    async def _pump_chat(self, feed: Broadcast[ChatMessage]) -> None:
        chat = self.setup.sandbox
        assert chat is not None
        last = chat.last_message_id()
        while True:
            await chat.wait_for_message_after(last)
            newest = chat.last_message_id()
            for message in chat.messages_after(last):
                feed.publish(message)
            last = newest

    async def on_stop(self) -> None:
        """End every SSE stream, then let Hypercorn finish gracefully."""
        self.streams.close_all()
        self._shutdown.set()
        with trio.move_on_after(self.setup.config.graceful_timeout + 1.0):
            await self._finished.wait()
        self._remove_log_scrubber()

    @handles(GetAddress)
    async def address(self, msg: GetAddress) -> DashboardAddress:
        return DashboardAddress(url=self.url, error=self.bind_error)

    def _install_log_scrubber(self) -> None:
        scrub_all_log_records(self.setup.secrets)

    def _remove_log_scrubber(self) -> None:
        stop_scrubbing(self.setup.secrets)


def dashboard_child(setup: DashboardSetup, *, name: str = DASHBOARD_NAME) -> ChildSpec:
    """A child spec for the `Dashboard` over ``setup``, registered as ``name``. Its shutdown
    timeout leaves room for Hypercorn's graceful stop."""
    return ChildSpec(
        name,
        lambda: Dashboard(setup),
        mailbox=Dashboard.mailbox,
        register=name,
        shutdown=setup.config.graceful_timeout + 3.0,
    )
