"""Initiative posts in the product tree on virtual time: the real scheduler and Store
(SQLite in ``tmp_path``), the guild router, the pacing keeper, the initiative actor, a scripted
model and the test bridge. A day of virtual time posts the configured number at the times the
gates allow, never in a blocked channel; a held thought survives a restart and is revisited;
a dropped thought restarts the gap; what the model gets wrong is logged, not posted."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from clanker.guilds import ROUTER_NAME
from clanker.initiative.actor import INITIATIVE_NAME, InitiativeConfig, initiative_child
from clanker.llm.model import ToolCall
from clanker.memory.service import MemoryConfig, Remember, Remembered, memory_child
from clanker.runtime import Runtime
from clanker.schedule.actor import ListJobs, SchedulerConfig, scheduler_child
from clanker.settings import CurrentSettings, GetSettings
from clanker.store import StoreMessage, pin_calendar, to_iso
from clanker.store.jobs import GetRuns, JobRows, RunRows

from ..memory.test_service import NOW, BagOfWords
from .tree import FAST, World, actions, configure, crash, product_tree

START = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)  # a 10-minute mark: the first tick is 08:10
MIN = 60.0
HOUR = 3600.0
DAY = 86_400.0


def late(seed: int = 1) -> list[Any]:
    return [
        scheduler_child(
            SchedulerConfig(handlers={"automation": ROUTER_NAME, "initiative": INITIATIVE_NAME})
        ),
        initiative_child(InitiativeConfig(seed=seed)),
    ]


def decision(action: str, text: str = "", channel: int = 10, **extra: Any) -> str:
    return json.dumps(
        {
            "action": action,
            "channel_id": str(channel),
            "reply_to_message_id": None,
            "text": text,
            "media": "none",
            "reason": extra.pop("reason", f"because {action}"),
            **extra,
        }
    )


def tree(tmp_path: Path, world: World, seed: int = 1) -> Any:
    return product_tree(tmp_path, world, late=late(seed))


async def gates(rt: Runtime) -> list[str]:
    return [json.loads(r.metadata)["gate"] for r in await actions(rt, "initiative_skip")]


SETUP = {
    **FAST,
    "initiative": {"channel_ids": [10, 11], "eagerness": 100},
    "permissions": {"blocked_channel_ids": [11]},
}


async def test_a_day_posts_the_configured_number_at_allowed_times_never_in_a_blocked_channel(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    pin_calendar(START)
    t0 = trio.current_time()
    world = World(answer=lambda n: decision("post_now", f"thought {n}"))
    async with tree(tmp_path, world) as (rt, w):
        await configure(rt, SETUP)
        await trio.sleep(DAY + 25 * MIN)
        # 08:10; 6 h after it is 14:10:00 and the post went out a moment after 08:10:00, so
        # 14:20; then 20:30; the next day 08:10 still sees three posts in 24 h: 08:20.
        fires = [10 * MIN, 6 * HOUR + 20 * MIN, 12 * HOUR + 30 * MIN, DAY + 20 * MIN]
        assert [at - t0 for at, _ in w.typing] == pytest.approx(fires, abs=1e-3)
        assert [s.channel_id for s in w.sent] == [10, 10, 10, 10]
        assert w.texts() == ["thought 1", "thought 2", "thought 3", "thought 4"]
        for (typed, _), sent in zip(w.typing, w.sent, strict=True):
            assert 0.35 <= sent.at - typed <= 1.25  # the typing delay, then the post
        assert all(s.reply_to is None for s in w.sent)
        # the blocked channel is never offered; the listed open one is, with its name
        assert all("channel_id 11" not in p and "#chan-10 (channel_id 10)" in p for p in w.prompts)
        assert all(r.context.purpose == "initiative" for r in w.requests)
        assert all(r.output_schema is not None for r in w.requests)  # no tools: the schema
        posts = await actions(rt, "initiative_post")
        assert [p.content for p in posts] == w.texts()
        # each send announced first, as replies do (the pacing keeper reads it after a restart)
        started = await actions(rt, "send_started")
        assert [(r.channel_id, r.content) for r in started] == [(10, "initiative post")] * 4
        assert json.loads(posts[0].metadata)["reason"] == "because post_now"
        # a gate that holds tick after tick is logged when it starts holding: the gap after
        # the first two posts; after the third, the day's budget (three posts in 24 h), which
        # holds until the fourth
        assert await gates(rt) == ["min_gap", "min_gap", "daily_budget"]
        runs = await rt.lookup("store").ask(GetRuns(limit=500), RunRows)
        assert len(runs.rows) == (DAY + 25 * MIN) // (10 * MIN)
        assert {r.outcome for r in runs.rows} == {"ok"}


async def test_a_held_thought_survives_a_restart_and_is_revisited(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    pin_calendar(START)
    t0 = trio.current_time()
    holding = World(answer=lambda n: decision("hold", "the otter video from earlier"))
    async with tree(tmp_path, holding) as (rt, w):
        await configure(rt, SETUP)
        await trio.sleep(15 * MIN)
        assert w.llm_times == pytest.approx([t0 + 10 * MIN], abs=1e-3) and w.sent == []
        holds = await actions(rt, "initiative_hold")
        assert [h.content for h in holds] == ["the otter video from earlier"]
        # the roll can no longer pass: only the held thought brings the model back
        await configure(rt, {"initiative": {"eagerness": 0}})
    posting = World(answer=lambda n: decision("post_now", "anyone seen the otter video?"))
    async with tree(tmp_path, posting) as (rt, w):
        await trio.sleep(t0 + 25 * MIN - trio.current_time())
        assert w.llm_times == pytest.approx(
            [t0 + 20 * MIN], abs=1e-3
        )  # the next tick, in the new process
        assert "YOUR CURRENT THOUGHT (held earlier, revision 1" in w.prompts[0]
        assert "the otter video from earlier" in w.prompts[0]
        assert w.texts(10) == ["anyone seen the otter video?"]
        # posted: nothing held any more, and the roll (eagerness 0) keeps it quiet after
        await trio.sleep(7 * HOUR)
        assert len(w.sent) == 1 and w.llm_calls == 1
        assert (await gates(rt))[-1] == "eagerness"


async def test_a_held_thought_expires_after_two_hours(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    pin_calendar(START)
    t0 = trio.current_time()
    world = World(answer=lambda n: decision("hold", f"still thinking {n}"))
    async with tree(tmp_path, world) as (rt, w):
        await configure(rt, {**SETUP, "initiative": {"channel_ids": [10], "eagerness": 0}})
        await trio.sleep(5 * MIN)
        await configure(rt, {"initiative": {"eagerness": 100}})
        await trio.sleep(10 * MIN)  # 08:10 holds
        await configure(rt, {"initiative": {"eagerness": 0}})
        await trio.sleep(3 * HOUR)
        # revisited at every tick until two hours after it was first held (10:10), then gone
        expected = [10 * MIN + 10 * MIN * k for k in range(12)]
        assert [at - t0 for at in w.llm_times] == pytest.approx(expected, abs=1e-3)
        assert "revision 11" in w.prompts[-1]
        assert (await gates(rt))[-2:] == ["thought_expired", "eagerness"]
        assert w.sent == []


async def test_a_dropped_thought_restarts_the_gap_and_a_bad_answer_is_not_posted(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    pin_calendar(START)
    t0 = trio.current_time()
    answers = {
        1: "not json at all",
        2: decision("post_now", "into the blocked one", channel=11),
        3: decision("drop", reason="nothing worth saying"),
        4: decision("post_now", "finally"),
    }
    world = World(answer=lambda n: answers[n])
    async with tree(tmp_path, world) as (rt, w):
        await configure(rt, SETUP)
        await trio.sleep(6 * HOUR + 35 * MIN)
        # 08:10 and 08:20 answered wrong (logged, not posted, the gap not started); 08:30
        # dropped: the next try is six hours on, 14:30
        expected = [10 * MIN, 20 * MIN, 30 * MIN, 6 * HOUR + 30 * MIN]
        assert [at - t0 for at in w.llm_times] == pytest.approx(expected, abs=1e-3)
        assert w.texts() == ["finally"]
        skips = await actions(rt, "initiative_skip")
        reasons = [
            (json.loads(r.metadata)["gate"], json.loads(r.metadata)["reason"]) for r in skips
        ]
        assert reasons[0] == ("bad_decision", "the answer holds no JSON object: 'not json at all'")
        assert reasons[1][0] == "bad_decision"
        assert "channel_id 11 is not one of the channels offered (10)" in reasons[1][1]
        assert reasons[2] == ("model_drop", "nothing worth saying")
        assert reasons[3][0] == "min_gap"


async def test_an_hourly_cap_reached_holds_the_post_for_later_across_a_restart(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    pin_calendar(START)
    t0 = trio.current_time()
    world = World(answer=lambda n: decision("post_now", f"post {n}"))
    async with tree(tmp_path, world) as (rt, w):
        await configure(
            rt, {**SETUP, "permissions": {"blocked_channel_ids": [11], "max_messages_per_hour": 0}}
        )
        await trio.sleep(25 * MIN)
        assert w.sent == [] and len(w.llm_times) == 2
        assert (await gates(rt))[:2] == ["pacing", "pacing"]
        assert "was ready to post, held by pacing" in w.prompts[1]  # revisited as a thought
        await configure(
            rt, {"permissions": {"max_messages_per_hour": 20}, "initiative": {"eagerness": 0}}
        )
    # a new process: the roll cannot pass, so only the held post brings the model back
    again = World(answer=lambda n: decision("post_now", f"again {n}"))
    async with tree(tmp_path, again) as (rt, w):
        await trio.sleep(t0 + 35 * MIN - trio.current_time())
        assert "YOUR CURRENT THOUGHT (held earlier, revision 2" in w.prompts[0]
        assert "post 2" in w.prompts[0]
        assert w.texts(10) == ["again 1"]
        assert w.sent[0].at - t0 > 30 * MIN


async def test_the_prompt_holds_what_was_said_lately_in_voice(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    """The voice brain stores each transcribed line under its voice channel (here the
    lounge, 50): lines of the last 6 hours are context; older ones are not."""
    pin_calendar(START)
    t0 = trio.current_time()
    world = World(answer=lambda n: decision("drop"))
    async with tree(tmp_path, world) as (rt, w):
        await configure(rt, SETUP)
        store = rt.lookup("store")
        for n, (hours, who, text) in enumerate(
            [(30, "carol", "old news"), (2, "bob", "who saw the otter cam?"), (1, "You", "me!")]
        ):
            await store.ask(
                StoreMessage(
                    message_id=500 + n,
                    guild_id=100,
                    channel_id=50,
                    author_id=999 if who == "You" else 3,
                    author_name=who,
                    content=text,
                    created_at=to_iso(START - timedelta(hours=hours)),
                )
            )
        await trio.sleep(15 * MIN)
        prompt = w.prompts[0]
        assert (
            "RECENT VOICE CHAT (transcribed; you cannot post in a voice channel):\n[vc] #lounge:\n"
            "  carol: old news\n  bob: who saw the otter cam?\n  You: me!"
        ) in prompt

    # six hours on, the lounge is quiet: the next prompt has no voice section
    quiet = World(answer=lambda n: decision("drop"))
    async with tree(tmp_path, quiet) as (rt, w):
        await trio.sleep(t0 + 7 * HOUR + 15 * MIN - trio.current_time())
        assert w.prompts and all("RECENT VOICE CHAT" not in p for p in w.prompts)


def call(name: str, arguments: dict[str, Any], n: int) -> tuple[ToolCall, ...]:
    return (
        ToolCall(id=f"c{n}", name=name, arguments=arguments, raw_arguments=json.dumps(arguments)),
    )


async def test_the_model_curates_its_own_sources_within_the_limits_when_allowed(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    script = {
        1: call("discovery_source_add", {"source": "r/python"}, 1),
        2: call("discovery_source_add", {"source": "hn:top"}, 2),
        3: call("discovery_source_remove", {"source": "/r/Otters/"}, 3),
    }
    pin_calendar(START)
    world = World(tool_calls=lambda n: script.get(n, ()), answer=lambda n: decision("drop"))
    async with tree(tmp_path, world) as (rt, w):
        await configure(
            rt,
            {
                **SETUP,
                "initiative": {
                    "channel_ids": [10],
                    "eagerness": 100,
                    "allow_self_curation": True,
                    "max_sources_per_kind": 1,
                    "feed_sources": ["r/otters"],
                },
            },
        )
        await trio.sleep(15 * MIN)
        offered = [t.name for t in w.requests[0].tools]
        assert offered == [
            "discovery_source_list",
            "discovery_source_add",
            "discovery_source_remove",
        ]
        assert w.requests[0].output_schema is None  # with tools, the contract is in the prompt
        assert "You may call these tools first: discovery_source_list" in w.prompts[0]
        results = [r.content for r in await actions(rt, "tool_discovery_source_add")]
        assert results == [
            "already 1 reddit sources (initiative.max_sources_per_kind 1): remove one first",
            "Added 'hn:top'. Discovery sources: r/otters; hn:top.",
        ]
        removed = [r.content for r in await actions(rt, "tool_discovery_source_remove")]
        assert removed == ["Removed '/r/Otters/'. Discovery sources: hn:top."]
        current = await rt.lookup("settings").ask(GetSettings(), CurrentSettings)
        assert current.settings.initiative.feed_sources == ("hn:top",)
        assert len(w.requests) == 4 and (await gates(rt))[-1] == "model_drop"
        # turned off: the tools are not offered
        await configure(
            rt, {"initiative": {"allow_self_curation": False, "min_minutes_between_posts": 0}}
        )
        await trio.sleep(10 * MIN)
        assert w.requests[-1].tools == () and w.requests[-1].output_schema is not None


async def test_the_prompt_holds_what_memory_knows_about_the_community(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    """The memory service (real Store and policy, a stub embedder) in the tree: the server's
    facts are the prompt's WHAT THIS COMMUNITY IS INTO section; a member's own facts are not."""
    pin_calendar(START)
    memory = memory_child(
        MemoryConfig(embedder=BagOfWords(), now=lambda: NOW + trio.current_time())
    )
    world = World(answer=lambda n: decision("drop"))
    async with product_tree(tmp_path, world, extra=[memory], late=late()) as (rt, w):
        await configure(rt, SETUP)
        for fact, guild, user in [
            ("this server is into retro games and otters", 100, None),
            ("alice secretly hates otters", None, 1),
        ]:
            scope = "guild" if guild else "user"
            reply = await rt.lookup("memory").ask(
                Remember(
                    scope=scope, fact=fact, guild_id=guild, user_id=user, fact_type="preference"
                )
            )
            assert isinstance(reply, Remembered), reply
        await trio.sleep(15 * MIN)
        prompt = w.prompts[0]
        assert (
            "WHAT THIS COMMUNITY IS INTO (from memory):\n"
            "- this server is into retro games and otters" in prompt
        )
        assert "secretly" not in prompt


async def test_a_crashed_initiative_actor_comes_back_knowing_its_held_thought(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    """Let it crash: a fresh incarnation rebuilds the held thought and the gates from the
    Store, and its scheduler job is still the one it had (not scheduled twice)."""
    pin_calendar(START)
    t0 = trio.current_time()
    answers = {1: decision("hold", "that otter video"), 2: decision("post_now", "the otter video!")}
    world = World(answer=lambda n: answers[n])
    async with tree(tmp_path, world) as (rt, w):
        await configure(rt, {**SETUP, "initiative": {"channel_ids": [10], "eagerness": 0}})
        await trio.sleep(5 * MIN)
        await configure(rt, {"initiative": {"eagerness": 100}})
        await trio.sleep(10 * MIN)  # 08:10: held
        await configure(rt, {"initiative": {"eagerness": 0}})
        await crash(rt, INITIATIVE_NAME)
        await trio.sleep(10 * MIN)  # 08:20: the new incarnation revisits it, without a roll
        assert "YOUR CURRENT THOUGHT (held earlier, revision 1" in w.prompts[1]
        assert w.texts(10) == ["the otter video!"]
        assert w.llm_times[1] - t0 == pytest.approx(20 * MIN, abs=1e-3)
        jobs = await rt.lookup("scheduler").ask(ListJobs(kind="initiative"), JobRows)
        assert [j.job_key for j in jobs.rows] == ["initiative:tick"]
