"""`clanker sandbox` remembers with no cloud key: the app's memory service on the bundled local
model (loaded once per process), the memory tools offered to a scripted model (llmsim, Anthropic's
wire format), real sockets and the real discord.py-self client, so the real clock."""

from __future__ import annotations

from pathlib import Path

import trio

from clanker.cli.sandbox import open_sandbox_app
from clanker.llm import LlmConfig, RetryConfig
from clanker.llmsim import JsonReply, SimToolCall, ToolUse, open_llmsim
from clanker.tools.config import WebToolsConfig
from tests.guilds.test_conversation import FAST, TIMEOUT, actions, configure, provider


def say(text: str) -> JsonReply:
    return JsonReply({"text": text, "skip": False, "reaction": None})


async def test_alice_is_remembered_across_conversations_in_the_sandbox(tmp_path: Path) -> None:
    async with open_llmsim() as sim:
        llm = LlmConfig(providers=(provider(sim, "anthropic"),), retry=RetryConfig(max_attempts=1))
        async with open_sandbox_app(tmp_path / "m.db", llm=llm, web_tools=WebToolsConfig()) as app:
            await configure(app.runtime, FAST)
            sb = app.sandbox
            alice = sb.world.user_named("alice")
            general = sb.world.channel_named("general")
            sim.script(
                ToolUse(
                    (
                        SimToolCall(
                            "memory_write",
                            {"fact": "loves otters", "about": "speaker", "type": "preference"},
                        ),
                    )
                ),
                say("Noted!"),
                say("Otters, of course."),
            )
            sb.post_message(alice, general, "clanker, remember that I love otters")
            with trio.fail_after(TIMEOUT):
                assert (await sb.next_bot_message(general)).content == "Noted!"
            assert "memory_write" in sim.requests[0].tool_names
            assert "What you remember" not in sim.requests[0].user_text
            assert "Remembered about the speaker" in sim.requests[1].tool_results[0]
            [written] = await actions(app.runtime, "tool_memory_write")
            assert written.content.startswith("Remembered about the speaker (fact ")

            # a later question shares no word with the fact: the local model's vectors find it
            sb.post_message(alice, general, "clanker, which animal do I adore the most?")
            with trio.fail_after(TIMEOUT):
                assert (await sb.next_bot_message(general)).content == "Otters, of course."
            later = sim.requests[2].user_text
            assert "WHAT YOU REMEMBER" in later and "- Alice: loves otters" in later
