"""What a realtime link's use costs: priced from the provider's own usage (OpenAI, against the
realtimesim over loopback) or by the connected minute (xAI), logged to the real Store, and
counted by the dashboard's cost summary like the LLM's calls."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
import trio
import trio.testing
from trio.testing import MockClock

from clanker.dashboard.costs import summarize
from clanker.realtimesim import RealtimeSim, Say, SimUsage, open_xai_realtime_sim
from clanker.runtime import ChildSpec, MailboxSpec, SupervisorSpec, open_runtime
from clanker.store import ActionRows, ActionsQuery, ActionTotals, ActionTotalsRows, store_child
from clanker.voice.realtime.actor import RealtimeCosts, RealtimeLinkConfig, realtime_link_child
from clanker.voice.realtime.api import RealtimeSession, ResponseDone, SessionReady, Usage
from clanker.voice.realtime.link_messages import Close, CommitTurn, RealtimeClosed, RequestResponse
from clanker.voice.realtime.pricing import (
    DEFAULT_REALTIME_PRICES,
    RealtimePrice,
    price_for,
    response_cost,
    session_cost,
)
from clanker.voice.realtime.xai import XaiRealtimeSession

from .test_link_actor import TIMEOUT, Heard, Owner, openai

GUILD, CHANNEL = 100, 50


@asynccontextmanager
async def costed(
    tmp_path: Path, session: Callable[[], RealtimeSession]
) -> AsyncIterator[tuple[object, Heard]]:
    heard = Heard()
    link = RealtimeLinkConfig(
        session=session,
        owner="owner",
        costs=RealtimeCosts(guild_id=GUILD, channel_id=CHANNEL),
    )
    spec = SupervisorSpec(
        children=[
            store_child(tmp_path / "c.db", inline=True),
            ChildSpec(
                "owner", lambda: Owner(heard), register="owner", mailbox=MailboxSpec(capacity=64)
            ),
            realtime_link_child("link", link, register="link"),
        ]
    )
    async with open_runtime(spec) as rt:
        yield rt, heard


async def logged(rt: object, kind: str) -> list[tuple[float, dict[str, object]]]:
    rows = await rt.lookup("store").ask(ActionsQuery(kind=kind), ActionRows)  # type: ignore[attr-defined]
    return [(r.usd_cost, json.loads(r.metadata)) for r in reversed(rows.rows)]


def test_prices_match_the_longest_model_prefix_and_cached_input_is_cheaper() -> None:
    table = DEFAULT_REALTIME_PRICES
    assert (
        price_for("openai", "gpt-realtime-mini-2025-10-06", table)
        == table[("openai", "gpt-realtime-mini")]
    )
    assert price_for("openai", "gpt-realtime", table) == table[("openai", "gpt-realtime")]
    assert price_for("openai", "gpt-4o", table) is None
    assert price_for("xai", "grok-voice", table) == RealtimePrice(per_minute=0.05)
    price = RealtimePrice(audio_in=32, audio_out=64, text_in=4, text_out=16, cached_in=0.4)
    usage = Usage(audio_in=1000, text_in=200, cached_in=300, audio_out=2000, text_out=50)
    # cached: 200 of the text, then 100 of the audio
    assert response_cost(usage, price) == pytest.approx(
        (900 * 32 + 300 * 0.4 + 2000 * 64 + 50 * 16) / 1e6
    )
    assert session_cost(90.0, RealtimePrice(per_minute=0.05)) == pytest.approx(0.075)
    with pytest.raises(ValueError, match="audio_in"):
        RealtimePrice(audio_in=-1)


async def test_each_response_is_priced_from_its_usage_and_counted_on_the_dashboard(
    sim: RealtimeSim, mock_clock: MockClock, tmp_path: Path
) -> None:
    usage = SimUsage(audio_in=1000, text_in=200, cached_in=100, audio_out=2000, text_out=50)
    sim.script(Say("hi there", usage=usage))
    async with costed(tmp_path, openai(sim)) as (rt, heard):
        await heard.event(SessionReady)
        link = rt.lookup("link")  # type: ignore[attr-defined]
        await link.tell(CommitTurn())
        await link.tell(RequestResponse())
        [done] = await heard.event(ResponseDone)  # logged before the owner is told
        await trio.testing.wait_all_tasks_blocked()  # the Store took it
        [(usd, meta)] = await logged(rt, "realtime_usage")
        expected = (100 * 4 + 100 * 0.4 + 1000 * 32 + 2000 * 64 + 50 * 16) / 1e6
        assert usd == pytest.approx(expected)
        assert (meta["provider"], meta["model"], meta["response_id"]) == (
            "openai",
            "gpt-realtime",
            done.response_id,
        )
        assert (meta["input_tokens"], meta["output_tokens"], meta["priced"]) == (1200, 2050, True)
        totals = await rt.lookup("store").ask(  # type: ignore[attr-defined]
            ActionTotals(since="2000-01-01T00:00:00Z"), ActionTotalsRows
        )
        summary = summarize(list(totals.rows), today=datetime.now(UTC).date(), days=2)
        [model] = [m for m in summary.models if m.model == "gpt-realtime"]
        assert (model.provider, model.usd_cost) == ("openai", round(expected, 6))
        assert await logged(rt, "realtime_session") == []  # OpenAI bills tokens, not minutes


async def test_a_per_minute_provider_is_priced_by_the_connected_time(
    mock_clock: MockClock, tmp_path: Path
) -> None:
    key = "xai-realtimesim-test-key"

    def session() -> RealtimeSession:
        return XaiRealtimeSession(key, base_url=sim.url)

    async with open_xai_realtime_sim(api_key=key) as sim, costed(tmp_path, session) as (rt, heard):
        await heard.event(SessionReady)
        await trio.sleep(90)
        await rt.lookup("link").ask(Close(), timeout=TIMEOUT)  # type: ignore[attr-defined]
        await heard.notice(RealtimeClosed)  # logged before the owner is told
        await trio.testing.wait_all_tasks_blocked()
        [(usd, meta)] = await logged(rt, "realtime_session")
        seconds = meta["seconds"]
        assert isinstance(seconds, float) and 90.0 <= seconds < 90.5
        assert usd == pytest.approx(round(seconds / 60 * 0.05, 8))
        assert (meta["provider"], meta["ended"]) == ("xai", "closed by its owner")
