"""`POST /api/sandbox/say`: a simulated member says something aloud in the voice call, from the
dashboard's sandbox chat; the voice brain hears it and answers (the real product: clankvox, a
DAVE call, the local models, the scripted LLM)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import trio

from clanker.llmsim import RecordedRequest, Text, Turn
from clanker.voice.brain.prompt import JOIN_EVENT, VOICE_MARKER
from tests.dashboard.wiring import (
    VOICE_TIMEOUT,
    Wired,
    join_lounge_end_to_end,
    scripted_brain,
    wired_sandbox,
)


def brain(request: RecordedRequest) -> Turn:
    """Voice prompts get a plain spoken sentence; text prompts the usual scripted answers."""
    if VOICE_MARKER in str(request.body):
        return Text("Yes, I can hear you.")
    return scripted_brain(request)


def client(wired: Wired) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=wired.url,
        headers={"Authorization": f"Bearer {wired.token}"},
        timeout=VOICE_TIMEOUT,
    )


async def test_saying_aloud_is_refused_clearly_until_the_bot_is_in_the_call(
    tmp_path: Path,
) -> None:
    async with wired_sandbox(tmp_path / "c.db", brain=brain) as wired, client(wired) as http:
        bot = str(wired.sandbox.world.bot.id)
        empty = await http.post("/api/sandbox/say", json={"text": "  "})
        as_bot = await http.post("/api/sandbox/say", json={"text": "hi", "author_id": bot})
        nobody = await http.post("/api/sandbox/say", json={"text": "hello?"})
        unknown = await http.post("/api/sandbox/say", json={"text": "hi", "author_id": "123"})
    assert (empty.status_code, empty.json()["error"]) == (400, "text must not be empty")
    assert as_bot.status_code == 400 and "not as the bot" in as_bot.json()["error"]
    assert nobody.status_code == 409 and "come to voice" in nobody.json()["error"]
    assert unknown.status_code == 404


async def test_a_member_says_it_aloud_and_the_brain_answers(tmp_path: Path) -> None:
    async with wired_sandbox(tmp_path / "s.db", brain=brain) as wired:
        await join_lounge_end_to_end(wired, "alice")
        alice = str(wired.sandbox.world.user_named("alice").id)
        async with client(wired) as http:
            said = await http.post(
                "/api/sandbox/say", json={"text": "Can you hear me?", "author_id": alice}
            )
            assert said.status_code == 200, said.text
            turn: Any = None
            with trio.fail_after(VOICE_TIMEOUT):
                while turn is None:
                    brain_view = (await http.get("/api/voice")).json()["connections"][0]["brain"]
                    turns = brain_view["turns"] if brain_view else []
                    turns = [t for t in turns if t["said"] != JOIN_EVENT]  # not the greeting
                    turn = turns[0] if turns else None
                    await trio.sleep(0.1)  # polling a condition, bounded by VOICE_TIMEOUT
    body = said.json()
    assert body["author_id"] == alice and body["text"] == "Can you hear me?"
    assert body["channel_id"] == str(wired.sandbox.world.channel_named("Lounge").id)
    assert 0.5 < body["seconds"] < 3.0
    assert "hear me" in turn["said"].lower()
    assert turn["reply"].strip() == "Yes, I can hear you."
