"""The soundboard through the whole product: the voice brain (real clankvox, a DAVE call, the
local models, a scripted LLM) asks the real bridge to play the sound its reply names; the
sandbox plays it, or refuses when the bot's USE_SOUNDBOARD is denied in the Lounge (403/50013),
and the `voice_soundboard` action — seen through the dashboard's API — says which."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import trio

from clanker.llmsim import RecordedRequest, Text, Turn
from clanker.sandbox.soundboard import USE_SOUNDBOARD
from clanker.voice.brain.prompt import JOIN_EVENT, VOICE_MARKER
from tests.dashboard.test_sandbox_say import client
from tests.dashboard.wiring import (
    VOICE_TIMEOUT,
    join_lounge_end_to_end,
    scripted_brain,
    wired_sandbox,
)

systems: list[str] = []


def brain(request: RecordedRequest) -> Turn:
    """Voice prompts: a rimshot after a short sentence; text prompts the usual answers."""
    if VOICE_MARKER in str(request.body):
        systems.append(str(request.body))
        if JOIN_EVENT in request.user_text:
            return Text("[SKIP]")  # joins quietly
        return Text("Ba dum. [[SOUNDBOARD:rimshot]]")
    return scripted_brain(request)


async def soundboard_actions(http: Any, count: int) -> list[dict[str, Any]]:
    with trio.fail_after(VOICE_TIMEOUT):
        while True:
            page = (await http.get("/api/actions", params={"kind": "voice_soundboard"})).json()
            if len(page["actions"]) >= count:
                return list(reversed(page["actions"]))  # oldest first
            await trio.sleep(0.1)  # polling a condition, bounded by VOICE_TIMEOUT


async def test_the_reply_plays_the_sound_and_a_denied_permission_is_logged(
    tmp_path: Path,
) -> None:
    async with wired_sandbox(tmp_path / "b.db", brain=brain) as wired, client(wired) as http:
        world = wired.sandbox.world
        await join_lounge_end_to_end(wired, "alice")
        lounge, alice = world.channel_named("Lounge"), world.user_named("alice")
        said = await http.post(
            "/api/sandbox/say", json={"text": "Tell me a joke.", "author_id": str(alice.id)}
        )
        assert said.status_code == 200, said.text
        first = await soundboard_actions(http, 1)
        world.soundboard.deny(lounge.id, world.bot.id, USE_SOUNDBOARD)
        said = await http.post(
            "/api/sandbox/say", json={"text": "Another one please.", "author_id": str(alice.id)}
        )
        assert said.status_code == 200, said.text
        both = await soundboard_actions(http, 2)
    assert [e.sound.name for e in world.soundboard.played] == ["rimshot"]
    assert first[0]["metadata"]["result"] == "played"
    refused = both[1]["metadata"]
    assert (refused["result"], refused["status"], refused["code"]) == ("refused", 403, 50013)
    assert "USE_SOUNDBOARD" in refused["detail"]
    assert any("Sounds: rimshot, tada" in s for s in systems)  # the prompt listed them
