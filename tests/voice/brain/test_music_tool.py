"""The ``music`` tool (clanker/tools/music.py): a voice answer's model plays music through the
reply registry, on virtual time with the real voice brain (the tool asks that same brain);
and its refusals, each naming the problem."""

from __future__ import annotations

from collections import deque
from pathlib import Path

import pytest
import trio
import trio.testing

from clanker.llm import LlmRequest
from clanker.llm.model import ProviderOutput, TextDelta, ToolCall, ToolResultPart, Usage
from clanker.llm.providers import Emit
from clanker.runtime import NotRegistered, open_runtime
from clanker.settings.model import Tools
from clanker.text.tool_registry import ToolContext, ToolRegistry
from clanker.tools.music import music_tool, run_music
from clanker.voice import commands as c
from clanker.voice.brain.config import voice_brain_name
from clanker.voice.brain.music_actor import GetMusicStatus, MusicStatus
from clanker.voice.brain.tool_step import voice_tool_registry

from .room import ALICE, GUILD, Playout, RoomProvider, StubModels, connect, member_says, room_spec


class MusicAsker(RoomProvider):
    """First request: "Sure." and a music call; the next answers with the tool's result."""

    def __init__(self) -> None:
        super().__init__(lambda p: "", delay=0.2, gap=0.05)
        self.results: list[str] = []

    async def _play(self, request: LlmRequest, emit: Emit | None) -> ProviderOutput:
        self.asked_at.append(trio.current_time())
        results = [
            p.content for m in request.messages for p in m.parts if isinstance(p, ToolResultPart)
        ]
        await trio.sleep(self.delay)
        if not results:
            if emit is not None:
                await emit(TextDelta("Sure."))
            call = ToolCall(
                id="m1",
                name="music",
                arguments={"action": "play", "query": "test tune"},
                raw_arguments="{}",
            )
            return ProviderOutput(
                text="Sure.", tool_calls=(call,), stop_reason="tool_use", usage=Usage()
            )
        self.results += results
        if emit is not None:
            await emit(TextDelta("Enjoy."))
        return ProviderOutput(text="Enjoy.", usage=Usage())


@pytest.fixture
def library(tmp_path: Path) -> str:
    root = tmp_path / "music"
    root.mkdir()
    (root / "Test Tune.wav").write_bytes(b"RIFF....")
    return str(root)


async def test_a_voice_answer_puts_music_on_through_the_tool(
    autojump_clock: trio.testing.MockClock, library: str
) -> None:
    # "something to dance to" is not a music command the parser knows: the model decides.
    models = StubModels(transcripts=deque(["clanker, put on something to dance to"]))
    provider = MusicAsker()
    playout = Playout()
    tools = voice_tool_registry(ToolRegistry([music_tool()]), Tools())
    assert tools is not None and tools.names == ["music"]
    name = voice_brain_name(str(GUILD))  # where the tool looks for the call, as in the product
    spec = room_spec(models, provider, playout, tools=tools, music_library=library, brain_name=name)
    async with open_runtime(spec) as rt:
        await connect(rt)
        await member_says(rt, ALICE, 1.0)
        await trio.sleep(8.0)
        status = await rt.lookup(name).ask(GetMusicStatus(), MusicStatus)
    assert len(provider.asked_at) == 2
    assert provider.results == ["Playing Test Tune."]
    [(_, play)] = [(t, m) for t, m in playout.music if isinstance(m, c.MusicPlay)]
    assert play.url.startswith("http://127.0.0.1:")
    assert (status.phase, status.now_playing) == ("playing", "Test Tune")


def ctx(guild_id: int | None = 5, lookup: object = None) -> ToolContext:
    return ToolContext(
        guild_id=guild_id,
        channel_id=1,
        message_id=2,
        user_id=3,
        lookup=lookup,  # type: ignore[arg-type]
    )


def no_call(name: str) -> object:
    raise NotRegistered(name)


@pytest.mark.parametrize(
    ("arguments", "context", "problem"),
    [
        ({"action": "dance"}, ctx(), "action must be one of play, add, pause"),
        ({"action": "play"}, ctx(), "play needs a query"),
        ({"action": "add", "query": 5}, ctx(), "query must be text"),
        ({"action": "play", "query": "x" * 301}, ctx(), "at most 300"),
        ({"action": "pause"}, ctx(guild_id=None), "this is a direct message"),
        ({"action": "pause"}, ctx(lookup=no_call), "you are in no voice call in this server"),
    ],
)
async def test_bad_calls_and_no_call_are_refused_with_the_reason(
    arguments: dict[str, object], context: ToolContext, problem: str
) -> None:
    out = await run_music(arguments, context)
    assert out.is_error and problem in out.content, out.content
