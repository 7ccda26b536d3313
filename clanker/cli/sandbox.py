"""`clanker sandbox`: the whole product against a local Discord, with you as a member.

It starts the sandbox Discord (guild "Sandbox": #general, #random, voice "Lounge"; members
alice and bob), runs clanker's tree against it as the user account "clanker", and turns the
terminal into a chat: what you type is posted as alice in #general (``/as``, ``/in`` switch),
and everything the bot posts is printed. End of input (Ctrl-D) or ``/quit`` shuts the tree
down cleanly.

The operator dashboard runs too (its URL, with the token, is printed once): chat with the bot
from the browser, watch every decision and the live actor tree, change settings live, crash an
actor and watch it restart. ``DASHBOARD_PORT`` picks the port (default: any free one);
``CLANKER_DASHBOARD=off`` leaves it out.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import tempfile
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import trio
import trio_asyncio

from clanker.app import (
    AppConfig,
    ConfigError,
    app_spec,
    browser_config,
    dashboard_config_from_env,
    llm_config_from_env,
    media_config_from_env,
    product_dashboard,
    web_tools_config_from_env,
)
from clanker.cli import chat, demo_brain
from clanker.dashboard import DashboardAddress, DashboardConfig, DashboardParts, GetAddress
from clanker.discord.bridge import wait_for_login
from clanker.guilds.messages import voice_link_name
from clanker.guilds.session import VoiceConfig
from clanker.initiative.actor import InitiativeConfig
from clanker.llm import LlmConfig, ProviderConfig
from clanker.llmsim import open_llmsim
from clanker.logsetup import configure_logging
from clanker.media.config import MediaConfig
from clanker.runtime import ActorError, NotRegistered, Runtime, open_runtime
from clanker.sandbox import (
    ChannelKind,
    Sandbox,
    SandboxLookupError,
    World,
    demo_world,
    open_sandbox,
)
from clanker.sandbox import Message as SandboxMessage
from clanker.sandbox.music import write_demo_library
from clanker.sandbox.voice.server import NoVoiceSession
from clanker.sandbox.voice.speech import piper_speech
from clanker.tools.config import WebToolsConfig
from clanker.tools.fetch import GuardedFetcher
from clanker.toolsims.sandbox_feeds import SandboxFeeds, open_sandbox_feeds
from clanker.toolsims.sandbox_media import SandboxMedia, open_sandbox_media
from clanker.toolsims.sandbox_web import SandboxWeb, open_sandbox_web
from clanker.voice.brain.actor import GetVoiceBrainStatus, VoiceBrainStatus
from clanker.voice.brain.config import default_brain_options, voice_brain_name
from clanker.voice.brain.music_actor import GetMusicStatus, MusicStatus
from clanker.voice.link_messages import GetVoiceLinkStatus, VoiceLinkStatus
from clanker.voice.models.base import ModelError

Output = Callable[[str], None]


class ChatError(Exception):
    """Something typed in the chat cannot be done; the message says why."""


@dataclass(frozen=True)
class SandboxOptions:
    db_path: Path | None = None  # None: a fresh file in a temporary directory
    user: str = "alice"
    channel: str = "general"
    seed: int = 0
    # After end of input (not /quit), keep running this long so replies to the last lines
    # still arrive: `echo "hi @clanker" | clanker sandbox` shows the answer.
    linger: float = 10.0
    # Where LLM providers and the dashboard are configured from (None: the process environment).
    env: Mapping[str, str] | None = None
    dashboard: bool = True  # run the operator dashboard (unless CLANKER_DASHBOARD=off)


@dataclass(frozen=True)
class SandboxApp:
    """What `open_sandbox_app` runs: the sandbox, the tree, and the brain it talks with."""

    sandbox: Sandbox
    runtime: Runtime
    llm: LlmConfig
    offline_demo: bool  # True: no provider was configured, the demo brain answers
    dashboard: DashboardParts | None = None
    dashboard_url: str | None = None  # where the dashboard listens (None: not running)
    dashboard_error: str | None = None  # why it is not running, when it could not bind
    # The sandbox's search sim and pages, when no search key is configured (None: the tools
    # use what the environment configures, or what the caller gave).
    web: SandboxWeb | None = None
    # The sandbox's GIPHY and image sims, for what the environment has no key for (None: the
    # caller gave the media configuration).
    media: SandboxMedia | None = None
    # The sandbox's discovery feeds (initiative posts' sources; always run in the sandbox).
    feeds: SandboxFeeds | None = None

    @property
    def dashboard_link(self) -> str | None:
        """The dashboard's URL with its token in the fragment (what a browser opens)."""
        if self.dashboard is None or self.dashboard_url is None:
            return None
        return f"{self.dashboard_url}/#token={self.dashboard.token}"

    def describe_brain(self) -> str:
        if self.offline_demo:
            return (
                "no LLM provider is configured, so clanker talks to the OFFLINE DEMO BRAIN (a "
                "scripted stand-in served locally; its replies are labelled). Set "
                "ANTHROPIC_API_KEY, OPENAI_API_KEY, XAI_API_KEY or CLANKER_LLM_BASE_URL + "
                "CLANKER_LLM_MODEL to use a real model."
            )
        names = ", ".join(f"{p.name} ({p.model})" for p in self.llm.providers)
        return f"clanker's replies come from: {names}."

    def describe_tools(self) -> str | None:
        """What web_search searches, when it is the sandbox's sim (None otherwise)."""
        if self.web is None:
            return None
        return (
            "web_search answers from the SANDBOX SEARCH SIM (local, offline; its results and "
            "pages are labelled as simulated). Set BRAVE_SEARCH_API_KEY or SERPAPI_API_KEY to "
            "search the real web."
        )


@asynccontextmanager
async def open_sandbox_app(
    db_path: Path,
    *,
    llm: LlmConfig | None = None,
    seed: int = 0,
    env: Mapping[str, str] | None = None,
    dashboard: DashboardConfig | None = None,
    announce: Callable[[str], None] | None = None,
    web_tools: WebToolsConfig | None = None,
    web_fetcher: GuardedFetcher | None = None,
    media: MediaConfig | None = None,
    media_fetcher: GuardedFetcher | None = None,
    world: World | None = None,
) -> AsyncIterator[SandboxApp]:
    """The sandbox Discord and clanker's tree logged into it (ready when this yields).

    ``llm`` None: providers from the environment, or the offline demo brain when there is none.
    ``web_tools`` None: the web tools from the environment; without a search key there, the
    sandbox's search sim (`open_sandbox_web`) answers ``web_search``. Given: used as is, with
    ``web_fetcher`` (tests point both at their own sims).
    ``media`` None: GIFs and images as the environment configures them, the sandbox's GIPHY
    and image sims (`open_sandbox_media`) for what it has no key for. Given: used as is, with
    ``media_fetcher``.
    ``world``: the sandbox Discord's world (default `demo_world`; tests add a second guild).
    ``dashboard``: run the operator dashboard with this configuration, its chat panel posting
    into the sandbox (``announce`` gets its one-line URL; default: nobody).
    """
    async with AsyncExitStack() as stack:
        offline = False
        if llm is None:
            try:
                llm = llm_config_from_env(os.environ if env is None else env)
            except ConfigError:
                sim = await stack.enter_async_context(open_llmsim(default=demo_brain.respond))
                llm = LlmConfig(
                    providers=(
                        ProviderConfig(
                            name=demo_brain.PROVIDER_NAME,
                            kind="openai_compatible",
                            model=demo_brain.MODEL,
                            base_url=sim.openai_url,
                        ),
                    )
                )
                offline = True
        web: SandboxWeb | None = None
        if web_tools is None:
            web_tools = web_tools_config_from_env(os.environ if env is None else env)
            if not web_tools.search_configured:
                web = await stack.enter_async_context(open_sandbox_web(web_tools))
                web_tools, web_fetcher = web.config, web.fetcher
        sims: SandboxMedia | None = None
        if media is None:
            configured = media_config_from_env(os.environ if env is None else env)
            sims = await stack.enter_async_context(open_sandbox_media(configured))
            media, media_fetcher = sims.config, sims.fetcher
        feeds = await stack.enter_async_context(open_sandbox_feeds())
        sb = await stack.enter_async_context(open_sandbox(world or demo_world()))
        # a few generated tones, so "clanker, play the test tune" works with no files
        music = stack.enter_context(tempfile.TemporaryDirectory(prefix="clanker-music-"))
        write_demo_library(Path(music))
        await stack.enter_async_context(trio_asyncio.open_loop())
        config = AppConfig(
            db_path=db_path,
            discord_token=sb.token,
            llm=llm,
            rest_url=sb.rest_url,
            gateway_url=sb.gateway_url,
            voice=VoiceConfig(
                ca_file=None if sb.voice is None else sb.voice.ca_file,
                brain=replace(default_brain_options(), music_library=music),
            ),
            web_tools=web_tools,
            web_fetcher=web_fetcher,
            media=media,
            media_fetcher=media_fetcher,
            browser=browser_config(os.environ, web_fetcher),
            initiative=InitiativeConfig(fetcher=feeds.fetcher, feed_endpoints=feeds.endpoints),
        )
        parts = None
        if dashboard is not None:
            parts = product_dashboard(
                dashboard,
                sandbox=sb,
                environ=os.environ if env is None else env,
                announce=announce or (lambda line: None),
            )
        spec = app_spec(config, dashboard=parts)
        rt = await stack.enter_async_context(open_runtime(spec, seed=seed))
        # The bridge logs in after the tree has started: "ready when this yields" means logged in.
        await wait_for_login(rt, timeout=config.login_timeout)
        url = error = None
        if parts is not None:
            address = await rt.lookup("dashboard").ask(GetAddress(), DashboardAddress)
            url, error = address.url or None, address.error
        yield SandboxApp(
            sandbox=sb,
            runtime=rt,
            llm=llm,
            offline_demo=offline,
            dashboard=parts,
            dashboard_url=url,
            dashboard_error=error,
            web=web,
            media=sims,
            feeds=feeds,
        )


def sandbox_dashboard_config(env: Mapping[str, str]) -> DashboardConfig | None:
    """The sandbox's dashboard: from the environment, but on any free port unless
    ``DASHBOARD_PORT`` says which, and with the operator's crash button on."""
    overrides: dict[str, object] = {"allow_operator_crash": True}
    if not env.get("DASHBOARD_PORT"):
        overrides["port"] = 0
    return dashboard_config_from_env(env, **overrides)


MAX_UPLOAD_BYTES = 25 * 1024 * 1024


class TerminalChat:
    """Carries out typed lines against the sandbox and prints what the bot says."""

    def __init__(
        self,
        sb: Sandbox,
        out: Output,
        *,
        user: str,
        channel: str,
        runtime: Runtime | None = None,
    ) -> None:
        self.sb = sb
        self.runtime = runtime
        self._aloud_send, self._aloud = trio.open_memory_channel[tuple[int, str]](16)
        self.out = out
        world = sb.world
        self.user = world.user_named(user)
        self.channel = world.channel_named(channel)
        if self.channel.kind != ChannelKind.TEXT:
            raise ChatError(f"#{channel} is not a text channel")

    def _users(self) -> dict[str, int]:
        return {u.username: u.id for u in self.sb.world.users.values()}

    def _names(self) -> dict[int, str]:
        return {u.id: u.username for u in self.sb.world.users.values()}

    def banner(self) -> None:
        world = self.sb.world
        assert self.channel.guild_id is not None  # a text channel (checked on start)
        guild = world.guild(self.channel.guild_id)
        text = ", ".join(
            f"#{c.name}"
            for c in world.channels.values()
            if c.guild_id == guild.id and c.kind == ChannelKind.TEXT
        )
        self.out(
            f"sandbox Discord on {self.sb.rest_url}: guild {guild.name!r} ({text}); "
            f"clanker is logged in as @{world.bot.username}."
        )
        self.out(f"you are @{self.user.username} in #{self.channel.name}. /help for commands.")

    def handle(self, line: str) -> bool:
        """Carry out one typed line; False when the person asked to quit."""
        parsed = chat.parse_line(line)
        world = self.sb.world
        try:
            match parsed:
                case None:
                    pass
                case chat.Say(text=text):
                    self.sb.post_message(
                        self.user, self.channel, chat.expand_mentions(text, self._users())
                    )
                case chat.SwitchUser(name=name):
                    self.user = world.user_named(name)
                    self.out(f"you are now @{self.user.username}")
                case chat.SwitchChannel(name=name):
                    channel = world.channel_named(name, guild_id=self.channel.guild_id)
                    if channel.kind != ChannelKind.TEXT:
                        raise ChatError(f"#{name} is a {channel.kind.name.lower()} channel")
                    self.channel = channel
                    self.out(f"you are now in #{channel.name}")
                case chat.PostFile(path=path, text=text):
                    self._post_file(path, text)
                case chat.SayAloud(text=text):
                    if self.sb.voice is None:
                        raise ChatError("this sandbox has no voice server")
                    self._aloud_send.send_nowait((self.user.id, text))
                case chat.Who():
                    members = ", ".join(f"@{u.username}" for u in world.users.values())
                    self.out(f"members: {members}")
                case chat.Help():
                    self.out(chat.HELP)
                case chat.Quit():
                    return False
                case chat.Invalid(problem=problem):
                    self.out(f"! {problem}")
        except (ChatError, SandboxLookupError) as exc:
            self.out(f"! {exc}")
        return True

    def _post_file(self, path: str, text: str) -> None:
        """/image: the file at ``path`` as an attachment of a message (Discord's 25 MB cap)."""
        file = Path(path).expanduser()
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise ChatError(f"cannot read {path}: {exc.strerror or exc}") from None
        if len(data) > MAX_UPLOAD_BYTES:
            raise ChatError(f"{path} is {len(data):,} bytes; Discord takes at most 25 MB")
        content = chat.expand_mentions(text, self._users())
        self.sb.post_message(self.user, self.channel, content, attachments=[(file.name, data)])
        self.out(f"(posted {file.name}, {len(data):,} bytes)")

    async def speak_aloud(self) -> None:
        """Carry out /say: the member joins the Lounge (if not in voice) and says the text, in
        Piper's voice, into the call."""
        voice = self.sb.voice
        async for user_id, text in self._aloud:
            if voice is None:
                continue
            world = self.sb.world
            user = world.user(user_id)
            lounge = next(c for c in world.channels.values() if c.kind == ChannelKind.VOICE)
            assert lounge.guild_id is not None
            state = world.voice_states.get((lounge.guild_id, user.id))
            if state is None or state.channel_id is None:
                self.sb.join_voice(user, lounge)
            try:
                pcm = await piper_speech(text)
            except ModelError as exc:
                self.out(f"! /say: no speech: {exc}")
                continue
            self.out(f"(voice #{lounge.name}) @{user.username} says: {text}")
            try:
                await voice.play(user, pcm)
            except NoVoiceSession:
                self.out("! /say: nobody is connected to the call to hear it")

    async def print_voice_turns(self) -> None:
        """What the bot says (or decides not to) in voice, from its voice brain."""
        if self.runtime is None:
            return
        shown = 0
        listening = False
        music = ""
        key = str(self.sb.world.guild_named("Sandbox").id)
        sounds = len(self.sb.world.soundboard.played)
        while True:
            await trio.sleep(0.25)
            for effect in self.sb.world.soundboard.played[sounds:]:  # soundboard, any player
                who = self.sb.world.user(effect.user_id).username
                self.out(f"(voice) {who} played the sound {effect.sound.name}")
            sounds = len(self.sb.world.soundboard.played)
            ready = await self._voice_ready(key)
            if ready != listening:
                listening = ready
                self.out(
                    f"(voice) {self.sb.world.bot.username} is listening in the call"
                    if ready
                    else f"(voice) {self.sb.world.bot.username} is not in a call"
                )
            try:
                status = await self.runtime.lookup(voice_brain_name(key)).ask(
                    GetVoiceBrainStatus(), VoiceBrainStatus, timeout=5.0
                )
            except (NotRegistered, ActorError, trio.TooSlowError):
                shown = 0
                continue
            for turn in status.turns[shown:]:
                name = self.sb.world.bot.username
                if turn.outcome == "skipped":
                    self.out(f"(voice) {name} stayed quiet")
                else:
                    note = "" if turn.outcome == "spoken" else f" [{turn.outcome}]"
                    self.out(f"(voice) {name}: {turn.reply.strip()}{note}")
            shown = len(status.turns)
            music = await self._print_music(key, music)

    async def _print_music(self, key: str, shown: str) -> str:
        """A line when the call's music changes ("(voice) music: playing Test Tune")."""
        assert self.runtime is not None
        try:
            m = await self.runtime.lookup(voice_brain_name(key)).ask(
                GetMusicStatus(), MusicStatus, timeout=5.0
            )
        except (NotRegistered, ActorError, trio.TooSlowError):
            return shown
        now = m.phase.replace("_", " ") + (f" {m.now_playing}" if m.now_playing else "")
        if m.phase == "idle" and not shown:
            return shown  # nothing has played yet: say nothing
        if now != shown:
            self.out(f"(voice) music: {now}")
        return now

    async def _voice_ready(self, key: str) -> bool:
        """The bot's voice connection is up and, in a DAVE call, holds keys (it can hear)."""
        assert self.runtime is not None
        try:
            status = await self.runtime.lookup(voice_link_name(key)).ask(
                GetVoiceLinkStatus(), VoiceLinkStatus, timeout=5.0
            )
        except (NotRegistered, ActorError, trio.TooSlowError):
            return False
        dave = status.dave
        if status.phase != "ready":
            return False
        if dave is None or dave.protocol_version == 0:
            return True
        voice = self.sb.voice
        if dave.status != "ready" or voice is None:
            return False
        # and every simulated member in the call holds the same epoch's keys (until then a
        # member's speech cannot be opened by the bot)
        members = [
            state.user_id
            for (guild, _), state in self.sb.world.voice_states.items()
            if str(guild) == key
            and state.channel_id == status.channel_id
            and state.user_id != self.sb.world.bot.id
        ]
        try:
            return voice.dave.pending(status.channel_id) is None and all(
                voice.member(uid).ready
                and voice.dave_participant(uid).in_group
                and voice.dave_participant(uid).epoch == dave.epoch
                for uid in members
            )
        except KeyError:
            return False  # a member not (yet) in the channel's DAVE group

    def show(self, message: SandboxMessage) -> None:
        world = self.sb.world
        reply_to = None
        if message.reference_id is not None and message.reference_id in world.messages:
            target = world.messages[message.reference_id]
            reply_to = "@" + world.user(target.author_id).username
        self.out(
            chat.render(
                world.channel(message.channel_id).name,
                world.user(message.author_id).username,
                chat.show_mentions(message.content, self._names()),
                reply_to=reply_to,
            )
        )
        for attachment in message.attachments:
            self.out(
                f"  [attached: {attachment.filename}, {len(attachment.data):,} bytes, "
                f"{attachment.content_type or 'unknown type'}]"
            )

    async def print_bot_messages(self) -> None:
        while True:
            self.show(await self.sb.next_bot_message())

    def _bot_reactions(self) -> set[tuple[int, str]]:
        bot = self.sb.world.bot.id
        return {
            (m.id, r.emoji.name)
            for m in self.sb.world.messages.values()
            for r in m.reactions
            if bot in r.user_ids
        }

    async def print_bot_reactions(self) -> None:
        """Show each reaction the bot adds (its way of answering without a message)."""
        shown = self._bot_reactions()
        while True:
            await self.sb.wait_until(lambda: bool(self._bot_reactions() - shown))
            world = self.sb.world
            for message_id, emoji in sorted(self._bot_reactions() - shown):
                shown.add((message_id, emoji))
                target = world.messages[message_id]
                snippet = " ".join(target.content.split())[:60]
                self.out(
                    f"#{world.channel(target.channel_id).name} "
                    f"{world.bot.username} reacted {emoji} to "
                    f"@{world.user(target.author_id).username}: “{snippet}”"
                )


async def quit_on_signal(
    signals: AsyncIterator[int], send: trio.MemorySendChannel[str], out: Output
) -> None:
    """SIGTERM or SIGINT: quit like ``/quit`` (replies in flight finish or are cancelled by the
    ordered shutdown, clankvox is closed, the Store flushed). A second one kills at once."""
    async for number in signals:
        out(f"{signal.Signals(number).name}: shutting down (again to kill)")
        with contextlib.suppress(
            trio.WouldBlock, trio.ClosedResourceError, trio.BrokenResourceError
        ):
            send.send_nowait("/quit\n")
        break
    async for _number in signals:
        raise KeyboardInterrupt


async def read_stdin_lines(send: trio.MemorySendChannel[str]) -> None:
    """Feed typed lines into ``send``; closes it at end of input."""
    async with send:
        while True:
            line = await trio.to_thread.run_sync(sys.stdin.readline, abandon_on_cancel=True)
            if not line:
                return
            await send.send(line)


async def run_chat(
    options: SandboxOptions, lines: trio.MemoryReceiveChannel[str], out: Output
) -> None:
    """Run the sandbox, the tree and the chat until ``lines`` ends or says /quit."""
    with tempfile.TemporaryDirectory(prefix="clanker-sandbox-") as tmp:
        db_path = options.db_path or Path(tmp) / "sandbox.db"
        out(f"starting clanker against the sandbox Discord (store: {db_path}) …")
        env = os.environ if options.env is None else options.env
        dash = sandbox_dashboard_config(env) if options.dashboard else None
        async with open_sandbox_app(
            db_path, seed=options.seed, env=options.env, dashboard=dash
        ) as app:
            term = TerminalChat(
                app.sandbox, out, user=options.user, channel=options.channel, runtime=app.runtime
            )
            term.banner()
            out(app.describe_brain())
            if (tools := app.describe_tools()) is not None:
                out(tools)
            if app.media is not None and (line := app.media.describe()) is not None:
                out(line)
            if app.feeds is not None:
                out(app.feeds.describe())
            if app.dashboard_link is not None:
                out(f"dashboard: {app.dashboard_link}")
            elif app.dashboard_error is not None:
                out(f"dashboard: not running ({app.dashboard_error}; set DASHBOARD_PORT)")
            async with trio.open_nursery() as nursery:
                nursery.start_soon(term.print_bot_messages)
                nursery.start_soon(term.print_bot_reactions)
                nursery.start_soon(term.speak_aloud)
                nursery.start_soon(term.print_voice_turns)
                quit_asked = False
                async with lines:
                    async for line in lines:
                        if not term.handle(line):
                            quit_asked = True
                            break
                if not quit_asked:
                    await trio.sleep(options.linger)
                nursery.cancel_scope.cancel()
            out("shutting down …")
    out("bye.")


def run_sandbox(options: SandboxOptions, *, verbose: bool = False) -> int:
    """`clanker sandbox`: returns the process exit status."""
    configure_logging(verbose=verbose)
    # discord.py-self warns about voice support it does not need here (clankvox does voice).
    logging.getLogger("discord.client").setLevel(logging.ERROR)

    def out(text: str) -> None:
        print(text, flush=True)

    async def main() -> None:
        send, receive = trio.open_memory_channel[str](16)
        with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(quit_on_signal, signals, send, out)
                nursery.start_soon(read_stdin_lines, send)
                await run_chat(options, receive, out)
                nursery.cancel_scope.cancel()

    try:
        trio.run(main)
    except ConfigError as exc:
        print(f"clanker sandbox: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted.", file=sys.stderr)
        return 130
    return 0
