"""`benchmarks/text_pipeline.py`'s measurement: matching the two servers' records per message,
and a tiny real run of the whole tree (real sockets, so the real clock; no figures asserted
beyond their being consistent)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from clanker.llmsim import RecordedRequest
from clanker.sandbox import RestCall, SentDispatch

ROOT = Path(__file__).resolve().parent.parent


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "bench_text_pipeline", ROOT / "benchmarks" / "text_pipeline.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


bench = _load()


def request(question: int, at: float, finished_at: float | None) -> RecordedRequest:
    text = f"RECENT MESSAGES\nalice: clanker, question {question - 1}?\nNEW MESSAGES\n"
    text += f"alice: clanker, question {question}?\nYOUR DECISION ..."
    return RecordedRequest(
        api="anthropic",
        method="POST",
        path="/v1/messages",
        headers={},
        body={"messages": [{"role": "user", "content": [{"type": "text", "text": text}]}]},
        at=at,
        finished_at=finished_at,
    )


def sent(content: str, at: float, route: str = bench.SEND_ROUTE) -> RestCall:
    return RestCall(
        "POST", "/api/v9/channels/1/messages", route, {}, 200, {"content": content}, at=at
    )


def test_match_pairs_each_message_with_its_request_and_reply() -> None:
    samples = [bench.Sample(7, 700), bench.Sample(8, 800)]
    dispatches = [
        SentDispatch(1, "TYPING_START", 4, {"id": "700"}, 0.5),
        SentDispatch(1, "MESSAGE_CREATE", 5, {"id": "700"}, 1.0),
        SentDispatch(1, "MESSAGE_CREATE", 6, {"id": "701"}, 1.5),  # the bot's own echo
        SentDispatch(1, "MESSAGE_CREATE", 7, {"id": "800"}, 2.0),
    ]
    requests = [request(7, 1.010, 1.020), request(8, 2.012, 2.030)]
    calls = [
        sent("answer 7", 1.025),
        sent("typing", 1.011, route="POST /channels/{channel_id}/typing"),
        sent("answer 8", 2.034),
    ]
    bench.match(samples, dispatches, requests, calls)
    assert [round(s.inbound, 6) for s in samples] == [0.010, 0.012]
    assert [round(s.outbound, 6) for s in samples] == [0.005, 0.004]


def test_match_refuses_a_request_that_never_finished() -> None:
    samples = [bench.Sample(3, 300)]
    dispatches = [SentDispatch(1, "MESSAGE_CREATE", 1, {"id": "300"}, 1.0)]
    with pytest.raises(AssertionError, match="never finished"):
        bench.match(samples, dispatches, [request(3, 1.1, None)], [sent("answer 3", 1.2)])


def test_pct_is_nearest_rank() -> None:
    samples = [float(n) for n in range(1, 101)]
    assert (bench.pct(samples, 0.5), bench.pct(samples, 0.99), bench.pct(samples, 1.0)) == (
        51.0,
        100.0,
        100.0,
    )


async def test_a_tiny_run_measures_both_directions(capsys: pytest.CaptureFixture[str]) -> None:
    result = await bench.run(3, 1)
    for direction in ("inbound", "outbound"):
        p50, p95, p99 = (result[f"{direction}_{q}_ms"] for q in ("p50", "p95", "p99"))
        assert 0 < p50 <= p95 <= p99
    printed = capsys.readouterr().out
    assert "3 messages (after 1 warm-up)" in printed
    assert result["cpu_per_message_ms"] > 0
    # every seam was stamped (a row is printed only then), and the wrappers are off again
    seam_rows = [line for line in printed.splitlines() if line.startswith("  ") and line[2] != " "]
    assert len(seam_rows) == len(bench.SEAMS_IN) + len(bench.SEAMS_OUT)
    from clanker.discord import convert
    from clanker.discord.events import MessageCreated
    from clanker.guilds import channel, generation

    assert convert.message.__module__ == "clanker.discord.convert"
    assert channel.generate_reply is generation.generate_reply
    actor = channel.ChannelActor
    assert actor._dispatch[MessageCreated] is actor._resolved[MessageCreated] is actor.message


async def test_the_turns_measure_both_graces_and_a_typed_burst(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from clanker.settings import Settings

    result = await bench.run_turns(1)
    activity = Settings().activity
    # No reply starts before it is due: the window (+0.25 s) before, the grace (+0.25 s) after.
    before, after = result["untyped_turn_p50_ms_before"], result["untyped_turn_p50_ms"]
    assert before >= (activity.coalesce_window_seconds + 0.25) * 1e3
    assert (activity.coalesce_grace_seconds + 0.25) * 1e3 <= after < before
    assert (result["typed_burst_requests"], result["typed_burst_replies"]) == (1, 1)
    assert result["typed_burst_last_to_request_ms"] > 0
    printed = capsys.readouterr().out
    assert "before: fixed window" in printed and "typed burst of 5 parts" in printed
