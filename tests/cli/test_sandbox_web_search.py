"""`clanker sandbox` with no keys at all searches the web offline: the sandbox starts its search
sim (Brave's API on 127.0.0.1, labelled), the offline demo brain calls web_search through the
real tool loop, and the answer printed in the chat carries the sim's results.

Real sockets and the real discord.py-self client, so the real clock.
"""

from __future__ import annotations

import json
from pathlib import Path

import trio

from clanker.cli.sandbox import SandboxOptions, open_sandbox_app, run_chat
from clanker.store import ActionRows, ActionsQuery
from clanker.tools.web_scrape import web_scrape
from clanker.toolsims.sandbox_web import SIM_LABEL

TIMEOUT = 60.0


async def test_search_the_web_in_the_sandbox_with_no_keys(tmp_path: Path) -> None:
    printed: list[str] = []
    answered = trio.Event()

    def out(text: str) -> None:
        printed.append(text)
        if text.startswith("#general clanker:"):
            answered.set()

    send, receive = trio.open_memory_channel[str](16)
    options = SandboxOptions(db_path=tmp_path / "w.db", linger=0.0, env={}, dashboard=False)
    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(run_chat, options, receive, out)
            await send.send("clanker, search the web for otter facts\n")
            await answered.wait()
            await send.send("/quit\n")
    assert any("SANDBOX SEARCH SIM" in line for line in printed)  # said at start
    [answer] = [line for line in printed if line.startswith("#general clanker:")]
    assert "[offline demo brain]" in answer
    assert "Results for 'otter facts'" in answer
    assert f"otter facts — {SIM_LABEL} result 1" in answer
    assert "http://web.sandbox.test:" in answer


async def test_the_sandbox_search_sim_is_reached_through_the_tool_and_its_pages_read(
    tmp_path: Path,
) -> None:
    # The same through the app: the action log has the call, the sim got the query, and a
    # sim page reads as simulated through web_scrape's own path (the guarded fetcher).
    async with open_sandbox_app(tmp_path / "a.db", env={}) as app:
        assert app.web is not None and app.offline_demo
        sb = app.sandbox
        alice, general = sb.world.user_named("alice"), sb.world.channel_named("general")
        sb.post_message(alice, general, "clanker, search for the tallest otter")
        with trio.fail_after(TIMEOUT):
            reply = await sb.next_bot_message(general)
        assert f"the tallest otter — {SIM_LABEL} result 1" in reply.content
        [request] = app.web.search.brave.requests
        assert request.params["q"] == "the tallest otter"
        with trio.fail_after(TIMEOUT):
            while True:
                rows = await app.runtime.lookup("store").ask(
                    ActionsQuery(kind="tool_web_search", limit=5), ActionRows
                )
                if rows.rows:
                    break
                await trio.sleep(0.02)
        [row] = rows.rows
        assert json.loads(row.metadata)["arguments"] == {"query": "the tallest otter"}
        assert row.usd_cost == 0.0  # the sim costs nothing

        url = reply.content.split("http://", 1)[1].split()[0]
        page = await web_scrape(
            {"url": "http://" + url}, fetcher=app.web.fetcher, config=app.web.config
        )
        assert not page.is_error, page.content
        assert "a local simulation of the web, not the real internet" in page.content


async def test_search_the_web_by_voice_in_the_sandbox_with_no_keys(tmp_path: Path) -> None:
    """Said aloud in the call (Piper → real clankvox → Whisper): the demo brain says "Let me
    check", searches the sandbox's sim through the voice brain's tool round, and speaks the
    first result."""
    printed: list[str] = []
    changed = trio.Event()

    def out(text: str) -> None:
        nonlocal changed
        printed.append(text)
        changed.set()
        changed = trio.Event()

    async def until(fragment: str) -> str:
        while True:
            for line in printed:
                if fragment in line:
                    return line
            await changed.wait()

    send, receive = trio.open_memory_channel[str](16)
    options = SandboxOptions(db_path=tmp_path / "v.db", linger=0.0, env={}, dashboard=False)
    with trio.fail_after(TIMEOUT * 2):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(run_chat, options, receive, out)
            await send.send("/say hello\n")  # alice joins the Lounge; nobody hears her yet
            await until("! /say: nobody is connected")
            await send.send("clanker, come to voice\n")
            await until("(voice) clanker is listening in the call")
            await until("(voice) clanker: Hello")  # the join greeting
            await send.send("/say clanker, search the web for otters\n")
            answer = await until("The first result is")
            await send.send("/quit\n")
    assert answer.startswith("(voice) clanker: Let me check.")
    assert f"{SIM_LABEL} result 1" in answer
    assert "otter" in answer.lower()  # what Whisper heard was searched for
