"""The ``music`` tool: play, queue and control music in the server's voice call.

The model calls it from a text reply ("put something on in voice") or a voice answer ("play
something chill"); it asks the guild's voice brain (`MusicRequest`, the same request the
dashboard and the typed commands send) and returns what the brain said ("Playing Test Tune.",
"I couldn't find thunder in the music library."). With no call in the server, or in a DM, the
model is told so and may say it. Explicit commands ("clanker, play the test tune") are still
parsed and carried out before any model is asked; this is for the asks the parser does not
catch.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clanker.llm.model import ToolSpec
from clanker.runtime import ActorError, NotRegistered
from clanker.text.tool_registry import Tool, ToolContext, ToolOutput
from clanker.voice.brain.config import voice_brain_name
from clanker.voice.brain.music import MusicVerb
from clanker.voice.brain.music_actor import MusicReply, MusicRequest

__all__ = ["MUSIC_SPEC", "MUSIC_TIMEOUT", "music_tool", "run_music"]

MUSIC_TIMEOUT = 5.0  # seconds the voice brain may take to answer
MAX_QUERY_CHARS = 300
_VERBS = tuple(v.value for v in MusicVerb)

MUSIC_SPEC = ToolSpec(
    name="music",
    description=(
        "Music in this server's voice call: play a title from the music library or an "
        "http(s) link (replacing what plays), add one to the queue, pause, resume, skip, stop, "
        "or say what is playing. Only works while you are in the voice call."
    ),
    parameters={
        "type": "object",
        "properties": {
            "action": {"type": "string", "enum": list(_VERBS)},
            "query": {
                "type": "string",
                "description": "For play and add: the title (or words of it) or the URL",
            },
        },
        "required": ["action"],
        "additionalProperties": False,
    },
)


def _error(text: str) -> ToolOutput:
    return ToolOutput(text, is_error=True)


async def run_music(arguments: Mapping[str, Any], context: ToolContext) -> ToolOutput:
    """Carry out one call (see the module docstring)."""
    action = arguments.get("action")
    if action not in _VERBS:
        return _error(f"action must be one of {', '.join(_VERBS)}; got {action!r}")
    query = arguments.get("query", "")
    if not isinstance(query, str):
        return _error(f"query must be text; got {type(query).__name__}")
    query = query.strip()
    if action in ("play", "add") and not query:
        return _error(f"{action} needs a query: the title or the link to play")
    if len(query) > MAX_QUERY_CHARS:
        return _error(f"query is {len(query)} characters; at most {MAX_QUERY_CHARS}")
    if context.guild_id is None:
        return _error("music plays in a server's voice call; this is a direct message")
    if context.lookup is None:
        return _error("music cannot be reached from here")
    try:
        brain = context.lookup(voice_brain_name(str(context.guild_id)))
    except NotRegistered:
        return _error("you are in no voice call in this server; ask to be brought to voice first")
    request = MusicRequest(verb=action, query=query, by="a tool call", user_id=context.user_id)
    try:
        reply = await brain.ask(request, MusicReply, timeout=MUSIC_TIMEOUT)
    except ActorError as exc:
        return _error(f"the voice call did not answer: {exc}")
    return ToolOutput(reply.said, is_error=not reply.ok)


def music_tool() -> Tool:
    """The ``music`` tool, no hourly budget (it costs nothing and acts only in a call)."""
    return Tool(spec=MUSIC_SPEC, run=run_music)
