"""Chaos: a seeded multi-guild conversation through the sandbox while a monkey crashes actors.

Each seed runs the whole product (`clanker.app.app_spec`: Store, settings, Llm, pacing, router,
sessions, channel actors, the real discord.py-self bridge) against the sandbox Discord with two
guilds of three text channels, and llmsim as the model (answers when addressed, else skips).
From the seed (`plan.make_plan`): members post addressed and ambient messages at set times, the
operator saves settings mid-run (a channel blocked, a lower hourly cap), and the monkey crashes
the n-th live actor of the tree (`OperatorCrash`) or drops every gateway connection.

Then the run waits for quiet, shuts the tree down, and checks (`invariants`): every member
message stored exactly once; every addressed message answered or given a logged reason; no
duplicate sends; nothing answered in the blocked channel after the save; min gap and hourly cap
held; shutdown finished within its bound.

In the test command, 20 seeds (2026-12-06: 30 of 30 pass here). What it found and is fixed:
messages posted while the bridge was down (the router's catch-up after a login), replies in
flight when their channel actor crashed (`ResumeInterrupted`), the cross-channel min gap (sends
reserved with the pacing keeper), two sends landing together after a bridge restart (the gap
now counts from when a send really went out, and a send slot that lapsed in the bridge is
reserved again), and this harness's own SIGBUS (it read the Store with a second SQLite build
in the same process).

Real sockets, so the real clock: the monkey's *schedule* is fixed by the seed, the interleaving
with real I/O is not. A failing seed prints how to replay it:
``pytest tests/chaos -k seed_17`` (``--seeds N`` runs seeds 0..N-1; the default is 20).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import trio
import trio_asyncio

from clanker.app import AppConfig, app_spec
from clanker.discord.bridge import wait_for_login
from clanker.llm import LlmConfig, ProviderConfig, RetryConfig
from clanker.llmsim import open_llmsim
from clanker.runtime import ActorError, ActorNode, OperatorCrash, Runtime, open_runtime
from clanker.sandbox import Sandbox, World, open_sandbox
from clanker.settings import CurrentSettings, GetSettings, SettingsUpdated, UpdateSettings
from tests.chaos import invariants as inv
from tests.chaos.plan import AUTHORS, CHANNELS, GUILDS, Plan, Post, Save, Strike, make_plan
from tests.dashboard.wiring import scripted_brain

QUIET_SECONDS = 0.5  # settled, and no new decision for this long: the run is over
QUIET_DEADLINE = 25.0  # …or stop waiting after this long
SHUTDOWN_BOUND = 30.0
POST_ROUTE = "POST /channels/{channel_id}/messages"


def chaos_world() -> tuple[World, list[list[int]]]:
    world = World(bot_username="clanker", token="chaos-token")
    users = [world.add_user(name, global_name=name.title()) for name in AUTHORS]
    channels = []
    for g in range(GUILDS):
        guild = world.add_guild(f"guild-{g}")
        channels.append([world.add_channel(guild.id, f"c{c}").id for c in range(CHANNELS)])
        for user in users:
            world.add_member(guild.id, user.id)
    return world, channels


async def save(rt: Runtime, patch: dict[str, Any]) -> None:
    """Write settings through the settings actor (retrying while it restarts)."""
    with trio.fail_after(20):
        while True:
            try:
                ref = rt.lookup("settings")
                current = await ref.ask(GetSettings(), CurrentSettings)
                reply = await ref.ask(
                    UpdateSettings(patch=json.dumps(patch), expected_version=current.version)
                )
                if isinstance(reply, SettingsUpdated):
                    return
            except ActorError:
                pass
            await trio.sleep(0.05)


def actor_paths(node: ActorNode) -> list[str]:
    out = [node.path] if node.kind == "actor" else []
    for child in node.children:
        out += actor_paths(child)
    return sorted(out)


class Run:
    """One seed's run: the sandbox, the tree, and what was observed."""

    def __init__(self, plan: Plan, sb: Sandbox, rt: Runtime, channels: list[list[int]]) -> None:
        self.plan, self.sb, self.rt, self.channels = plan, sb, rt, channels
        self.t0 = trio.current_time()
        self.posted: list[inv.Posted] = []
        self.saved_at = 0.0
        self.cap = 0
        self.log: list[str] = []

    def channel_of(self, step: Post | Save) -> int:
        return self.channels[step.guild][step.channel]

    async def post(self, step: Post) -> None:
        world = self.sb.world
        author = world.user_named(step.author)
        text = f"<@{world.bot.id}> {step.text}" if step.addressed else step.text
        msg = self.sb.post_message(author, self.channel_of(step), text)
        self.posted.append(
            inv.Posted(msg.id, msg.channel_id, trio.current_time() - self.t0, step.addressed)
        )

    async def strike(self, step: Strike) -> None:
        if step.kind == "drop_gateway":
            self.log.append(f"{step.at:.2f} drop gateway")
            self.sb.drop_gateway()
            return
        paths = actor_paths(self.rt.snapshot())
        target = paths[step.pick % len(paths)]
        self.log.append(f"{step.at:.2f} crash {target}")
        try:
            ref = self.rt.at(target)
            with trio.move_on_after(5):
                await ref.ask(OperatorCrash(reason="chaos monkey"))  # type: ignore[union-attr]
        except ActorError:
            pass  # crashed as asked (ActorCrashed), or gone meanwhile

    async def save_settings(self, step: Save) -> None:
        sent = len(self.bot_sends())
        self.cap = sent + step.cap_headroom
        blocked = self.channel_of(step)
        await save(
            self.rt,
            {
                "permissions": {
                    "blocked_channel_ids": [str(blocked)],
                    "max_messages_per_hour": self.cap,
                }
            },
        )
        self.saved_at = trio.current_time() - self.t0
        self.log.append(f"{self.saved_at:.2f} saved: block {blocked}, cap {self.cap}")

    def bot_sends(self) -> list[inv.BotSend]:
        """Every message the bot posted (only the bot uses REST): channel and time."""
        return [
            inv.BotSend(int(call.path.split("/")[-2]), call.at - self.t0)
            for call in self.sb.rest_calls
            if call.route == POST_ROUTE and call.status == 200
        ]

    def send_timeline(self) -> list[str]:
        """The bot's sends as lines (time, channel, text), for a failing seed's report."""
        return [
            f"{call.at - self.t0:.3f} channel {call.path.split('/')[-2]}: "
            f"{str((call.json or {}).get('content', ''))[:60]!r}"
            for call in self.sb.rest_calls
            if call.route == POST_ROUTE and call.status == 200
        ]

    async def play(self) -> None:
        for step in self.plan.events:
            await trio.sleep_until(self.t0 + step.at)
            if isinstance(step, Post):
                await self.post(step)
            elif isinstance(step, Strike):
                await self.strike(step)
            else:
                await self.save_settings(step)

    async def quiesce(self, db: Path) -> None:
        """Wait until every addressed message has a terminal decision and the decision log has
        not grown for `QUIET_SECONDS` (bounded by `QUIET_DEADLINE`: the checks then say what
        is missing)."""
        last, since = -1, trio.current_time()
        with trio.move_on_after(QUIET_DEADLINE):
            while True:
                store = inv.read_store(db)
                n = len(store.decisions)
                if n != last:
                    last, since = n, trio.current_time()
                settled = not inv.answered_or_explained(self.posted, store)
                if settled and trio.current_time() - since >= QUIET_SECONDS:
                    return
                await trio.sleep(0.1)
        self.log.append(f"not settled after {QUIET_DEADLINE} s")


def seeds(config: pytest.Config) -> list[int]:
    return list(range(int(config.getoption("--seeds"))))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "seed" in metafunc.fixturenames:
        values = seeds(metafunc.config)
        metafunc.parametrize("seed", values, ids=[f"seed_{s}" for s in values])


async def test_chaos(seed: int, tmp_path: Path) -> None:
    plan = make_plan(seed)
    world, channels = chaos_world()
    db = tmp_path / "chaos.db"
    async with open_llmsim(default=scripted_brain) as sim, open_sandbox(world, voice=False) as sb:
        llm = LlmConfig(
            providers=(
                ProviderConfig(
                    name="anthropic",
                    kind="anthropic",
                    model="claude-sonnet-4-6",
                    base_url=sim.anthropic_url,
                    api_key="sk-chaos",
                ),
            ),
            retry=RetryConfig(base_delay=0.05),
        )
        config = AppConfig(
            db_path=db,
            discord_token=sb.token,
            llm=llm,
            rest_url=sb.rest_url,
            gateway_url=sb.gateway_url,
        )
        async with trio_asyncio.open_loop():
            with trio.fail_after(QUIET_DEADLINE + 60 + SHUTDOWN_BOUND):
                async with open_runtime(app_spec(config), seed=seed) as rt:
                    await wait_for_login(rt, timeout=30)
                    run = Run(plan, sb, rt, channels)
                    await save(
                        rt,
                        {
                            "activity": {
                                "coalesce_window_seconds": 0.2,
                                "min_gap_seconds": plan.min_gap,
                            },
                            "permissions": {"max_messages_per_hour": 100},
                        },
                    )
                    run.t0 = trio.current_time()
                    await run.play()
                    await run.quiesce(db)
                    stopping = trio.current_time()
                shutdown = trio.current_time() - stopping
    store = inv.read_store(db)
    sends = run.bot_sends()
    blocked = run.channels[plan.save.guild][plan.save.channel]
    problems = [
        *(
            [f"shutdown took {shutdown:.1f} s, over its bound of {SHUTDOWN_BOUND} s"]
            if shutdown > SHUTDOWN_BOUND
            else []
        ),
        *inv.stored_exactly_once(run.posted, store),
        *inv.answered_or_explained(run.posted, store),
        *inv.no_duplicate_sends(store, sends),
        *inv.blocked_channel_silent(run.posted, store, blocked, run.saved_at),
        *inv.pacing_held(
            sends,
            min_gap=plan.min_gap,
            cap=run.cap,
            cap_from=run.saved_at,
            before_cap=GUILDS * CHANNELS,
        ),
    ]
    if problems:
        listing = "\n  ".join(problems)
        events = "\n  ".join(run.log)
        timeline = "\n  ".join(run.send_timeline())
        pytest.fail(
            f"chaos seed {seed} broke {len(problems)} invariant(s):\n  {listing}\n"
            f"monkey and operator:\n  {events}\n"
            f"the bot's sends:\n  {timeline}\n"
            f"replay: pytest tests/chaos -k 'seed_{seed}' (or --seeds {seed + 1})",
            pytrace=False,
        )
