"""`clanker sandbox` with no keys at all remembers: the offline demo brain calls memory_write
when asked to "remember that …", and a later reply's prompt carries the fact (the demo brain
says what it remembers). Real sockets, the real client and the bundled local model: real clock.
"""

from __future__ import annotations

from pathlib import Path

import trio

from clanker.cli.demo_brain import remember_fact
from clanker.cli.sandbox import SandboxOptions, run_chat

TIMEOUT = 60.0


async def test_the_sandbox_remembers_with_no_keys(tmp_path: Path) -> None:
    printed: list[str] = []
    answers: trio.MemorySendChannel[str]
    answers, answered = trio.open_memory_channel[str](8)

    def out(text: str) -> None:
        printed.append(text)
        if text.startswith("#general clanker:"):
            answers.send_nowait(text)

    send, receive = trio.open_memory_channel[str](16)
    options = SandboxOptions(db_path=tmp_path / "m.db", linger=0.0, env={}, dashboard=False)
    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(run_chat, options, receive, out)
            await send.send("clanker, remember that I love otters\n")
            first = await answered.receive()
            await send.send("clanker, what do you know about otters?\n")
            second = await answered.receive()
            await send.send("/quit\n")
    assert "[offline demo brain]" in first
    assert "The tool said:" in first and "Remembered about the speaker (fact 1)." in first
    assert "I remember: " in second and "I love otters" in second.split("I remember: ")[1]


def test_the_demo_brain_hears_a_remember_request_only_when_asked_to_reply() -> None:
    asked = "NEW MESSAGES (the latest is last)\nalice: clanker, remember that I love otters!\n\n"
    cue = "YOUR DECISION\nSomeone is talking to you directly."
    assert remember_fact(asked + cue) == "I love otters"
    assert remember_fact(asked) is None
    assert remember_fact("NEW MESSAGES\nalice: I remember nothing\n\n" + cue) is None
