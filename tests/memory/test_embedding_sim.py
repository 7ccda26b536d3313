"""The embeddings sim speaks OpenAI's ``/v1/embeddings``: the real `openai` SDK over a real
socket (real clock: sockets), and raw HTTP for what the SDK never sends (a single string,
floats, bad bodies). No network beyond 127.0.0.1."""

from __future__ import annotations

import base64
import math
import struct
from collections.abc import AsyncIterator

import httpx
import openai
import pytest

from clanker.toolsims.embeddings import (
    EmbeddingSim,
    SimModel,
    open_embedding_sim,
    sim_vector,
    sim_words,
)

KEY = "sk-embedding-sim-key-1234"


@pytest.fixture
async def sim() -> AsyncIterator[EmbeddingSim]:
    async with open_embedding_sim(api_key=KEY) as server:
        yield server


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_vectors_are_unit_bags_of_words_close_when_words_are_shared() -> None:
    assert sim_words("She loves the otters, 42 times!") == ["love", "otter", "time"]
    otters = sim_vector("loves otters", 1536)
    assert len(otters) == 1536 and math.isclose(math.fsum(x * x for x in otters), 1.0)
    assert otters == sim_vector("Loves OTTERS.", 1536)  # deterministic, case-blind
    # two shared words of two and three (no hash collision among them)
    assert cosine(otters, sim_vector("she loves sea otters", 1536)) == pytest.approx(2 / 6**0.5)
    assert abs(cosine(otters, sim_vector("plays the violin", 1536))) < 0.2
    # shortened by the server == cut and rescaled by a client
    short = sim_vector("loves otters", 1536, shorten_to=384)
    head = otters[:384]
    norm = math.sqrt(math.fsum(x * x for x in head))
    assert short == pytest.approx([x / norm for x in head])


async def test_the_sdk_asks_for_base64_and_gets_the_same_vectors_back(sim: EmbeddingSim) -> None:
    client = openai.AsyncOpenAI(api_key=KEY, base_url=sim.base_url, max_retries=0)
    try:
        reply = await client.embeddings.create(
            model="text-embedding-3-small", input=["loves otters", "plays chess"], dimensions=384
        )
    finally:
        await client.close()
    [request] = sim.requests
    assert request.path == "/v1/embeddings" and request.status == 200
    assert request.body == {
        "model": "text-embedding-3-small",
        "input": ["loves otters", "plays chess"],
        "dimensions": 384,
        "encoding_format": "base64",  # the SDK's default, decoded by the SDK
    }
    assert request.headers["authorization"] == "<redacted>"
    assert [d.index for d in reply.data] == [0, 1]
    assert reply.data[0].embedding == pytest.approx(sim_vector("loves otters", 1536, 384))
    assert len(reply.data[1].embedding) == 384
    assert reply.model == "text-embedding-3-small" and reply.object == "list"
    assert (reply.usage.prompt_tokens, reply.usage.total_tokens) == (4, 4)


async def test_the_raw_wire_format_floats_a_single_string_and_base64(sim: EmbeddingSim) -> None:
    auth = {"authorization": f"Bearer {KEY}"}
    async with httpx.AsyncClient(base_url=sim.base_url, headers=auth) as http:
        plain = await http.post("/embeddings", json={"model": "all-minilm", "input": "hi there"})
        packed = await http.post(
            "/embeddings",
            json={"model": "all-minilm", "input": ["hi there"], "encoding_format": "base64"},
        )
    assert plain.status_code == 200
    body = plain.json()
    assert body["object"] == "list" and body["model"] == "all-minilm"
    [item] = body["data"]
    assert (item["object"], item["index"]) == ("embedding", 0)
    assert item["embedding"] == pytest.approx(sim_vector("hi there", 384))
    raw = base64.b64decode(packed.json()["data"][0]["embedding"])
    assert list(struct.unpack("<384f", raw)) == pytest.approx(item["embedding"], abs=1e-6)
    assert body["usage"] == {"prompt_tokens": 2, "total_tokens": 2}


async def test_errors_come_in_openais_shape_with_its_statuses(sim: EmbeddingSim) -> None:
    auth = {"authorization": f"Bearer {KEY}"}
    async with httpx.AsyncClient(base_url=sim.base_url) as http:

        async def post(body: object, headers: dict[str, str] = auth) -> httpx.Response:
            return await http.post("/embeddings", json=body, headers=headers)

        wrong = await post(
            {"model": "all-minilm", "input": "x"}, {"authorization": "Bearer sk-nope-12345678"}
        )
        assert wrong.status_code == 401
        assert wrong.json()["error"]["code"] == "invalid_api_key"
        assert "Incorrect API key provided: sk-****5678" in wrong.json()["error"]["message"]
        unknown = await post({"model": "gpt-embed-9", "input": "x"})
        assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "model_not_found")
        assert unknown.json()["error"]["message"] == (
            "The model `gpt-embed-9` does not exist or you do not have access to it."
        )
        empty = await post({"model": "all-minilm", "input": [""]})
        assert empty.status_code == 400 and empty.json()["error"]["param"] == "input"
        ada = await post({"model": "text-embedding-ada-002", "input": "x", "dimensions": 384})
        assert ada.status_code == 400
        assert (
            ada.json()["error"]["message"] == "This model does not support specifying dimensions."
        )
        too_big = await post({"model": "text-embedding-3-small", "input": "x", "dimensions": 4000})
        assert (too_big.status_code, too_big.json()["error"]["param"]) == (400, "dimensions")
        odd = await post({"model": "all-minilm", "input": "x", "encoding_format": "int8"})
        assert (odd.status_code, odd.json()["error"]["code"]) == (400, "invalid_value")
        many = await post({"model": "all-minilm", "input": ["x"] * 2049})
        assert many.status_code == 400
        sim.fail(500)
        sim.rate_limit(retry_after=2.5)
        failed = await post({"model": "all-minilm", "input": "x"})
        limited = await post({"model": "all-minilm", "input": "x"})
        after = await post({"model": "all-minilm", "input": "x"})
    assert failed.status_code == 500 and failed.json()["error"]["type"] == "server_error"
    assert limited.status_code == 429 and limited.headers["retry-after"] == "2.5"
    assert limited.json()["error"]["code"] == "rate_limit_exceeded"
    assert after.status_code == 200 and sim.pending_faults == 0
    assert [r.status for r in sim.requests][-3:] == [500, 429, 200]


async def test_an_ollama_like_model_ignores_dimensions_and_a_float_only_server_ignores_base64() -> (
    None
):
    models = {"nomic-embed-text": SimModel(768, honours_dimensions=False)}
    async with open_embedding_sim(models=models, float_only=True) as sim:
        client = openai.AsyncOpenAI(api_key="ollama", base_url=sim.base_url, max_retries=0)
        try:
            reply = await client.embeddings.create(
                model="nomic-embed-text", input=["loves otters"], dimensions=384
            )
        finally:
            await client.close()
    assert len(reply.data[0].embedding) == 768  # dimensions ignored, as Ollama's models do
    assert reply.data[0].embedding == pytest.approx(sim_vector("loves otters", 768))
    assert sim.requests[0].body["encoding_format"] == "base64"  # asked, answered as floats
