"""LLM layer benchmark: clanker.llm's overhead over the bare SDKs, against llmsim, in one run.

    .venv/bin/python benchmarks/llm.py [--quick]

Both sides make real HTTP calls to the same local llmsim server (which answers at once), so the
difference is what `LlmService` adds: conversion both ways, the retry loop, the deadline scope,
costing and the call record. Measured alternately over several rounds (the machine is noisy;
only ratios from one run mean anything):

* ``complete_vs_sdk``: median time of `LlmService.complete` / median time of the bare
  ``messages.create`` call it wraps (Anthropic, non-streamed);
* ``stream_vs_sdk``: time to stream a 400-chunk reply through `LlmService.stream` / through the
  bare SDK stream (Anthropic SSE);
* ``chat_stream_vs_sdk``: the same for Chat Completions (OpenAI SDK);
* converter cost per call (request conversion + response conversion), pure Python.

The last line is one JSON object with those figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Awaitable, Callable

import anthropic
import openai
import trio

from clanker.llm import (
    LlmConfig,
    LlmRequest,
    LlmService,
    ProviderConfig,
    SystemPart,
    anthropic_wire,
    user,
)
from clanker.llmsim import Text, open_llmsim

KEY = "bench"
REQUEST = LlmRequest(
    system=(SystemPart("You are a benchmark.", cache=True),),
    messages=(user("Say something."),),
    max_tokens=256,
)
ANTHROPIC_KW = anthropic_wire.request_params(REQUEST, "claude-sonnet-4-6")
CHUNKS = tuple(f"w{i} " for i in range(400))


async def timed(fn: Callable[[], Awaitable[object]], n: int) -> list[float]:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        await fn()
        samples.append(time.perf_counter() - start)
    return samples


async def run(quick: bool) -> dict[str, float]:
    calls = 40 if quick else 150
    streams = 4 if quick else 12
    rounds = 3 if quick else 5
    async with open_llmsim(api_key=KEY, default=lambda _: Text("ok")) as sim:
        sim_streaming = sim
        anthropic_config = ProviderConfig(
            name="a",
            kind="anthropic",
            model="claude-sonnet-4-6",
            base_url=sim.anthropic_url,
            api_key=KEY,
        )
        chat_config = ProviderConfig(
            name="x", kind="xai", model="grok-4", base_url=sim.openai_url, api_key=KEY
        )
        service = LlmService(LlmConfig(providers=(anthropic_config, chat_config)))
        sdk = anthropic.AsyncAnthropic(
            base_url=sim.anthropic_url, api_key=KEY, max_retries=0, timeout=None
        )
        oai = openai.AsyncOpenAI(base_url=sim.openai_url, api_key=KEY, max_retries=0, timeout=None)
        only_a = LlmRequest(messages=REQUEST.messages, system=REQUEST.system, providers=("a",))
        only_x = LlmRequest(messages=REQUEST.messages, system=REQUEST.system, providers=("x",))

        async def ours() -> None:
            await service.complete(only_a)

        async def bare() -> None:
            await sdk.messages.create(**ANTHROPIC_KW)

        async def ours_stream(request: LlmRequest) -> None:
            sim_streaming.script(Text(chunks=CHUNKS))
            async with service.stream(request) as deltas:
                await deltas.final()

        async def bare_stream() -> None:
            sim_streaming.script(Text(chunks=CHUNKS))
            events = await sdk.messages.create(**ANTHROPIC_KW, stream=True)
            async for _ in events:
                pass

        async def bare_chat_stream() -> None:
            sim_streaming.script(Text(chunks=CHUNKS))
            chunks = await oai.chat.completions.create(
                model="grok-4",
                messages=[{"role": "user", "content": "Say something."}],
                stream=True,
                stream_options={"include_usage": True},
            )
            async for _ in chunks:
                pass

        await ours()
        await bare()  # warm both clients (first requests do one-time work)
        await oai.models.list()
        complete_ratios, stream_ratios, chat_ratios = [], [], []
        ours_p50 = bare_p50 = 0.0

        async def pair(
            first: Callable[[], Awaitable[object]],
            second: Callable[[], Awaitable[object]],
            n: int,
            swap: bool,
        ) -> tuple[float, float]:
            # Alternate which side goes first, so warm-up and drift do not favour one.
            if swap:
                b = statistics.median(await timed(second, n))
                a = statistics.median(await timed(first, n))
            else:
                a = statistics.median(await timed(first, n))
                b = statistics.median(await timed(second, n))
            return a, b

        for r in range(rounds):
            swap = r % 2 == 1
            a, b = await pair(ours, bare, calls, swap)
            complete_ratios.append(a / b)
            ours_p50, bare_p50 = a, b
            s1, s2 = await pair(lambda: ours_stream(only_a), bare_stream, streams, swap)
            stream_ratios.append(s1 / s2)
            c1, c2 = await pair(lambda: ours_stream(only_x), bare_chat_stream, streams, swap)
            chat_ratios.append(c1 / c2)
        await service.aclose()
        await sdk.close()
        await oai.close()

    n = 2000 if quick else 20000
    message = {
        "content": [{"type": "text", "text": "hello " * 50}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 10, "output_tokens": 60},
    }
    start = time.perf_counter()
    for _ in range(n):
        anthropic_wire.request_params(REQUEST, "claude-sonnet-4-6")
        anthropic_wire.output_from_message(message)
    convert_us = (time.perf_counter() - start) / n * 1e6

    result = {
        "complete_vs_sdk": round(statistics.median(complete_ratios), 3),
        "stream_vs_sdk": round(statistics.median(stream_ratios), 3),
        "chat_stream_vs_sdk": round(statistics.median(chat_ratios), 3),
        "convert_us": round(convert_us, 1),
    }
    rounds_text = ", ".join(f"{r:.2f}" for r in complete_ratios)
    print(
        f"complete: clanker.llm p50 {ours_p50 * 1e3:.2f} ms, bare SDK p50 {bare_p50 * 1e3:.2f} ms "
        f"-> ratio {result['complete_vs_sdk']} (rounds: {rounds_text})"
    )
    print(
        f"stream 400 chunks: anthropic ratio {result['stream_vs_sdk']} "
        f"(rounds: {', '.join(f'{r:.2f}' for r in stream_ratios)}); chat ratio "
        f"{result['chat_stream_vs_sdk']} (rounds: {', '.join(f'{r:.2f}' for r in chat_ratios)})"
    )
    print(f"converters: {convert_us:.1f} µs per request + response (Anthropic)")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller run")
    args = parser.parse_args()
    print(json.dumps(trio.run(run, args.quick)))


if __name__ == "__main__":
    main()
