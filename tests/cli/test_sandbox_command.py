"""`clanker sandbox` end to end: the sandbox Discord, the whole tree, the terminal chat.

Real sockets and the real discord.py-self client, so the real clock (see tests/sandbox/conftest).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import trio

from clanker.cli.sandbox import SandboxOptions, run_chat
from clanker.store import open_store
from clanker.store.sqlite import close_connection

TIMEOUT = 60.0


def offline_env() -> dict[str, str]:
    """The environment without any real provider (the offline demo brain answers), unbuffered."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith("_API_KEY") and not k.startswith("CLANKER_LLM_")
    }
    env["PYTHONUNBUFFERED"] = "1"
    return env


async def test_chat_lines_reach_the_bot_and_its_answers_are_printed(tmp_path: Path) -> None:
    printed: list[str] = []
    answered = trio.Event()

    def out(text: str) -> None:
        printed.append(text)
        if text.startswith("#random clanker"):
            answered.set()

    send, receive = trio.open_memory_channel[str](16)
    # No provider in the environment given: the offline demo brain answers.
    options = SandboxOptions(db_path=tmp_path / "chat.db", linger=0.0, env={})
    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(run_chat, options, receive, out)
            for line in ["just chatting\n", "/as bob\n", "/in random\n", "@clanker hi!\n"]:
                await send.send(line)
            await answered.wait()
            # The dashboard runs too: its link (token in the fragment) was printed once.
            [link] = [line for line in printed if line.startswith("dashboard: ")]
            url, _, token = link.removeprefix("dashboard: ").partition("/#token=")
            assert url.startswith("http://127.0.0.1:") and len(token) >= 16
            async with httpx.AsyncClient(base_url=url, timeout=TIMEOUT) as client:
                refused = await client.get("/api/health")
                health = await client.get(
                    "/api/health", headers={"Authorization": f"Bearer {token}"}
                )
                guilds = await client.get(
                    "/api/guilds", headers={"Authorization": f"Bearer {token}"}
                )
            assert refused.status_code == 401
            assert health.status_code == 200 and health.json()["sandbox"] is True
            assert [g["name"] for g in guilds.json()] == ["Sandbox"]
            await send.send("/quit\n")
    assert any("you are @alice in #general" in line for line in printed)
    assert any("OFFLINE DEMO BRAIN" in line for line in printed)
    reply = next(line for line in printed if line.startswith("#random clanker"))
    assert reply.startswith("#random clanker: [offline demo brain] I heard you, Bob: “@you hi!”")
    # Nothing answered the unaddressed line.
    assert not any(line.startswith("#general clanker") for line in printed)
    assert printed[-1] == "bye."

    # Everything seen was stored, and every step is in the action log.
    conn = open_store(tmp_path / "chat.db")
    try:
        rows = conn.execute("SELECT author_name, content FROM messages ORDER BY message_id")
        contents = [tuple(r) for r in rows.fetchall()]
        kinds = [r[0] for r in conn.execute("SELECT kind FROM actions").fetchall()]
    finally:
        close_connection(conn)
    assert ("Alice", "just chatting") in contents
    assert any(
        name == "clanker" and text.startswith("[offline demo brain] I heard you, Bob")
        for name, text in contents
    )
    assert {"reply_decision", "llm_call", "sent_message"} <= set(kinds)


async def test_the_command_line_chats_over_stdin_and_stdout(tmp_path: Path) -> None:
    env = offline_env()
    argv = [
        sys.executable,
        "-m",
        "clanker",
        "sandbox",
        "--linger",
        "0",
        "--db",
        str(tmp_path / "x.db"),
    ]
    want = "#general clanker: [offline demo brain] I heard you, Alice: “hey @you, you there?”"
    output = ""
    with trio.fail_after(TIMEOUT):
        proc = await trio.lowlevel.open_process(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
        )
        try:
            assert proc.stdin is not None and proc.stdout is not None
            await proc.stdin.send_all(b"/nope\nhey @clanker, you there?\n")
            while want not in output:
                chunk = await proc.stdout.receive_some()
                assert chunk, f"clanker exited before answering:\n{output}"
                output += chunk.decode()
            await proc.stdin.aclose()  # end of input: a clean shutdown
            while chunk := await proc.stdout.receive_some():
                output += chunk.decode()
            await proc.wait()
        finally:
            proc.kill()
            await proc.wait()
            await proc.stdin.aclose()
            await proc.stdout.aclose()
    assert proc.returncode == 0
    assert "! unknown command '/nope'; /help lists them" in output
    [link] = [line for line in output.splitlines() if line.startswith("dashboard: ")]
    assert link.startswith("dashboard: http://127.0.0.1:") and "/#token=" in link
    assert output.rstrip().endswith("bye.")


async def test_reactions_show_in_the_chat_when_the_bot_stays_quiet(tmp_path: Path) -> None:
    printed: list[str] = []
    reacted = trio.Event()

    def out(text: str) -> None:
        printed.append(text)
        if " reacted " in text:
            reacted.set()

    send, receive = trio.open_memory_channel[str](16)
    options = SandboxOptions(db_path=tmp_path / "r.db", linger=0.0, env={})
    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(run_chat, options, receive, out)
            await send.send("does anyone know a good pizza place?\n")
            await reacted.wait()
            await send.send("/quit\n")
    assert (
        "#general clanker reacted 🤔 to @alice: “does anyone know a good pizza place?”" in printed
    )
    # An ambient question gets a reaction, not a message.
    assert not any(line.startswith("#general clanker:") for line in printed)


async def test_sigterm_shuts_the_sandbox_down_in_order(tmp_path: Path) -> None:
    env = offline_env()
    argv = [sys.executable, "-m", "clanker", "sandbox", "--db", str(tmp_path / "t.db")]
    output = ""
    with trio.fail_after(TIMEOUT):
        proc = await trio.lowlevel.open_process(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
        )
        try:
            assert proc.stdout is not None
            while "dashboard: " not in output:  # the tree is up
                chunk = await proc.stdout.receive_some()
                assert chunk, f"clanker exited before starting:\n{output}"
                output += chunk.decode()
            proc.send_signal(signal.SIGTERM)
            while chunk := await proc.stdout.receive_some():
                output += chunk.decode()
            await proc.wait()
        finally:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, output
    assert "SIGTERM: shutting down" in output
    assert output.rstrip().endswith("bye.")  # the ordered shutdown ran to its end


async def test_a_voice_conversation_in_the_sandbox_with_no_keys(tmp_path: Path) -> None:
    """Ask the bot to voice in text: it greets; say something aloud with /say: the offline demo
    brain answers in voice (real clankvox, a DAVE call, the local models), shown in the chat."""
    printed: list[str] = []
    changed = trio.Event()

    def out(text: str) -> None:
        nonlocal changed
        printed.append(text)
        changed.set()
        changed = trio.Event()

    async def until(prefix: str) -> str:
        while True:
            for line in printed:
                if line.startswith(prefix):
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
            greeting = await until("(voice) clanker:")  # the join greeting, heard back
            await send.send("/say clanker, can you hear me?\n")
            reply = await until("(voice) clanker: This is")
            await send.send("/say clanker, make a sound\n")  # the demo brain plays one
            played = await until("(voice) clanker played the sound")
            sound_line = await until("(voice) clanker: Here is the")
            await send.send("/say clanker, play the test tune\n")  # the generated tones
            announced = await until("(voice) clanker: Playing")
            started = await until("(voice) music: playing")  # clankvox started the track
            await send.send("/quit\n")
    assert played == "(voice) clanker played the sound rimshot"  # the guild's first sound
    assert announced == "(voice) clanker: Playing Test Tune."
    assert started == "(voice) music: playing Test Tune"
    assert sound_line == "(voice) clanker: Here is the rimshot sound."  # the marker not shown
    assert greeting.startswith("(voice) clanker: Hello, this is the offline demo brain")
    assert "(voice #Lounge) @alice says: clanker, can you hear me?" in printed
    assert reply.startswith("(voice) clanker: This is the offline demo brain. Alice, I heard")
    assert "hear me" in reply.lower()
