"""`BrowserAgent`: the browser session manager actor (registered ``browser``).

It owns one Chromium (launched at the first task, closed when its last session is) and a page
session per channel: a channel's next task goes on from the page its last one left (cookies
are never kept: the guard strips them). A session unused for ``idle_timeout`` seconds (300, the
original's ``sessionTimeoutMs``) is closed. At most ``max_sessions`` sessions exist (2): a task
for a new channel closes the least recently used idle one, or is refused while all are busy;
a channel runs one task at a time.

Each `BrowseTask` is answered with a deferred reply from a task of its own (like the `Llm`
actor), so the mailbox never waits on a page. When the asker stops waiting (a stop word
cancelled the reply, or its tool call timed out), the task is cancelled — the Playwright call
in flight and the page's fetches with it — and that channel's session is closed. A restart
closes everything the incarnation held.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import trio

from clanker.browser.agent import run_task
from clanker.browser.chromium import Chromium, PageSession
from clanker.browser.policy import BrowseLimits
from clanker.browser.sessions import SessionTable
from clanker.llm import CallContext, LlmClient
from clanker.runtime import Actor, ActorContext, ChildSpec, Reply, handles
from clanker.tools.fetch import GuardedFetcher
from clanker.wire import Message

log = logging.getLogger("clanker.browser")

__all__ = [
    "BROWSER_NAME",
    "BrowseOutcome",
    "BrowseTask",
    "BrowserAgent",
    "BrowserConfig",
    "BrowserSessions",
    "DescribeSessions",
    "browser_child",
]

BROWSER_NAME = "browser"
CLOSE_SECONDS = 5.0  # closing a context or Chromium may take this long, even when cancelled


@dataclass(frozen=True)
class BrowserConfig:
    """How the browser agent runs: the Chromium to drive, the guarded fetcher every request
    goes through (None: a strict one), the task budgets, the session rules, and the Llm
    actor's registered name."""

    executable: str
    fetcher: GuardedFetcher | None = field(default=None, compare=False)
    limits: BrowseLimits = field(default_factory=BrowseLimits)
    idle_timeout: float = 300.0
    max_sessions: int = 2
    llm: str = "llm"

    def __post_init__(self) -> None:
        if self.max_sessions < 1 or not self.idle_timeout > 0:
            raise ValueError(f"BrowserConfig: max_sessions >= 1 and idle_timeout > 0: {self}")


class BrowseTask(Message, frozen=True):
    """Run ``task`` in ``channel_id``'s session (``url``: open it first; ``new_session``:
    start from a fresh page). Reply: `BrowseOutcome`."""

    channel_id: int
    task: str
    url: str | None = None
    new_session: bool = False
    guild_id: int | None = None
    message_id: int | None = None
    user_id: int | None = None


class BrowseOutcome(Message, frozen=True):
    """A task's end: the text for the outer model, and the final page's screenshot (JPEG)."""

    content: str
    is_error: bool = False
    screenshot: bytes | None = None
    steps: int = 0


class DescribeSessions(Message, frozen=True):
    """Reply: `BrowserSessions`; with ``settled``, once no task runs and nothing is closing."""

    settled: bool = False


class BrowserSessions(Message, frozen=True):
    """Open sessions by channel, those running a task, and whether Chromium runs."""

    channels: tuple[int, ...]
    busy: tuple[int, ...]
    chromium_running: bool


@dataclass
class _Session:
    page: PageSession | None = None  # None until its first task opens it
    scope: trio.CancelScope | None = None  # the running task's


class BrowserAgent(Actor):
    """See the module docstring. The session rules are `SessionTable`'s (sans-IO)."""

    def __init__(self, config: BrowserConfig) -> None:
        self.config = config
        self.table = SessionTable(
            max_sessions=config.max_sessions, idle_timeout=config.idle_timeout
        )
        self._sessions: dict[int, _Session] = {}
        self._chromium: Chromium | None = None
        self._launch_lock = trio.Lock()
        self._changed = trio.Event()
        self._closing = 0  # pages or Chromium being closed now
        self._settled = trio.Event()
        self._settled.set()

    async def on_start(self, ctx: ActorContext) -> None:
        self.ctx = ctx
        ctx.start_soon(self._reap_idle)
        ctx.start_soon(self._close_at_the_end)

    async def _close_at_the_end(self) -> None:
        """However the incarnation ends (a stop, a crash, the tree's shutdown), its pages and
        Chromium are closed: ``on_stop`` is not called after a crash."""
        try:
            await trio.sleep_forever()
        finally:
            with trio.CancelScope(shield=True):
                for channel in list(self._sessions):
                    await self._close_session(channel)
                await self._close_chromium()

    # -- messages ----------------------------------------------------------------------------

    @handles(BrowseTask)
    async def browse(self, msg: BrowseTask) -> None:
        reply = self.ctx.defer_reply()
        admitted = self.table.admit(msg.channel_id, trio.current_time())
        if isinstance(admitted, str):
            reply.send(BrowseOutcome(content=admitted, is_error=True))
            return
        if admitted.evict is not None:
            evicted = self._sessions.pop(admitted.evict, None)
            log.info("browser session of channel %d closed to make room", admitted.evict)
            self.ctx.start_soon(self._close_page, evicted.page if evicted else None)
        session = self._sessions.setdefault(msg.channel_id, _Session())
        session.scope = trio.CancelScope()
        self._update_settled()
        self._changed.set()
        self.ctx.start_soon(self._run, msg, session, reply)

    @handles(DescribeSessions)
    async def describe(self, msg: DescribeSessions) -> BrowserSessions | None:
        if not msg.settled:
            return self._describe()
        reply = self.ctx.defer_reply()

        async def when_settled() -> None:
            while not self._settled.is_set():
                await self._settled.wait()
            reply.send(self._describe())

        self.ctx.start_soon(when_settled)
        return None

    def _describe(self) -> BrowserSessions:
        return BrowserSessions(
            channels=self.table.channels,
            busy=self.table.busy,
            chromium_running=self._chromium is not None,
        )

    # -- running a task --------------------------------------------------------------------------

    async def _run(self, msg: BrowseTask, session: _Session, reply: Reply) -> None:
        assert session.scope is not None
        outcome: BrowseOutcome | None = None
        try:
            with session.scope:
                async with trio.open_nursery() as nursery:

                    async def give_up_when_abandoned() -> None:
                        await reply.wait_abandoned()
                        log.info("browse task in channel %d abandoned: stopping it", msg.channel_id)
                        nursery.cancel_scope.cancel()

                    nursery.start_soon(give_up_when_abandoned)
                    outcome = await self._task(msg, session)
                    nursery.cancel_scope.cancel()
        finally:
            session.scope = None
            self.table.finished(msg.channel_id, trio.current_time())
            self._changed.set()
            if outcome is None:  # stopped: its page goes too
                with trio.CancelScope(shield=True):
                    if self._sessions.get(msg.channel_id) is session:
                        await self._close_session(msg.channel_id)
            self._update_settled()
        if outcome is None:
            reply.send(BrowseOutcome(content="browser_browse was stopped.", is_error=True))
        else:
            reply.send(outcome)

    async def _task(self, msg: BrowseTask, session: _Session) -> BrowseOutcome:
        limits = self.config.limits
        if msg.new_session and session.page is not None:
            page, session.page = session.page, None
            await self._close_page(page)
        if session.page is None or session.page.closed:
            try:
                chromium = await self._ensure_chromium()
                session.page = await chromium.new_session(self._fetcher(), limits)
            except Exception as exc:
                log.exception("the browser could not start")
                if self._sessions.get(msg.channel_id) is session:
                    del self._sessions[msg.channel_id]
                self.table.closed(msg.channel_id)
                # Playwright's first line says what failed; the rest advises `playwright
                # install`, which is never the fix here (the system Chromium is used).
                first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                return BrowseOutcome(
                    content=f"browser_browse failed: the browser could not start ({first_line}).",
                    is_error=True,
                )
        context = CallContext(
            purpose="browser_agent",
            guild_id=msg.guild_id,
            channel_id=msg.channel_id,
            message_id=msg.message_id,
            user_id=msg.user_id,
        )
        llm = LlmClient(self.ctx.lookup(self.config.llm))
        result = await run_task(
            msg.task, session.page, llm, limits=limits, context=context, start_url=msg.url
        )
        return BrowseOutcome(
            content=result.text,
            is_error=result.is_error,
            screenshot=result.screenshot,
            steps=result.steps,
        )

    def _fetcher(self) -> GuardedFetcher:
        return self.config.fetcher or GuardedFetcher()

    async def _ensure_chromium(self) -> Chromium:
        async with self._launch_lock:
            if self._chromium is None:
                log.info("launching %s for the browser agent", self.config.executable)
                self._chromium = await Chromium.launch(self.config.executable)
            return self._chromium

    # -- closing ---------------------------------------------------------------------------------

    async def _close_session(self, channel_id: int) -> None:
        session = self._sessions.pop(channel_id, None)
        self.table.closed(channel_id)
        if session is not None:
            await self._close_page(session.page)

    async def _close_page(self, page: PageSession | None) -> None:
        self._begin_closing()
        try:
            if page is not None:
                with trio.CancelScope(shield=True), trio.move_on_after(CLOSE_SECONDS):
                    await page.close()
            if not self._sessions:
                await self._close_chromium()
        finally:
            self._end_closing()

    async def _close_chromium(self) -> None:
        chromium, self._chromium = self._chromium, None
        if chromium is None:
            return
        self._begin_closing()
        try:
            with trio.CancelScope(shield=True), trio.move_on_after(CLOSE_SECONDS):
                await chromium.close()
        except Exception as exc:  # it is going away either way
            log.warning("closing Chromium: %s", exc)
        finally:
            self._end_closing()

    def _begin_closing(self) -> None:
        self._closing += 1
        self._update_settled()

    def _end_closing(self) -> None:
        self._closing -= 1
        self._update_settled()

    def _update_settled(self) -> None:
        if self._closing == 0 and not self.table.busy:
            self._settled.set()
        elif self._settled.is_set():
            self._settled = trio.Event()

    async def _reap_idle(self) -> None:
        """Close the sessions `SessionTable.idle` names, waking when the next one expires."""
        while True:
            now = trio.current_time()
            for channel in self.table.idle(now):
                log.info("browser session of channel %d idle: closed", channel)
                session = self._sessions.pop(channel, None)
                await self._close_page(session.page if session else None)
            wake = self.table.next_wake(trio.current_time())
            self._changed = trio.Event()
            with trio.move_on_at(wake if wake is not None else math.inf):
                await self._changed.wait()


def browser_child(config: BrowserConfig, *, name: str = BROWSER_NAME) -> ChildSpec:
    """The browser agent's child spec, registered as ``name``."""
    return ChildSpec(name, lambda: BrowserAgent(config), register=name)
