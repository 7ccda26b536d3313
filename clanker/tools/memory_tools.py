"""`memory_search`, `memory_write` and `memory_forget`: the reply's hands on long-term memory.

Thin: the memory service (`clanker.memory.service`) validates, merges and ranks; the privacy
rule (`clanker.memory.owners`) says whose facts a reply may see (the owners its prompt was
given, carried in `ToolContext.recall_owners`) and where a write goes (the speaker, or the guild
the reply is in). Writes are checked in ``strict`` mode (`clanker.memory.policy.check_draft`):
instruction-like or secret-like text, an unknown type and the like are refused, and the refusal
says why, so the model can fix the call or drop it. The tool never writes rules for the bot
(`guidance` / `behavioral`): those show in prompts as server rules, and a member must not be
able to set one by asking. The service is found through the reply's
tree (`ToolContext.services`) when the call runs; a tree without it answers with an error.
`memory_forget` deletes the speaker's own facts for good (some ids, or all), as they ask; it
cannot touch anyone else's facts or a guild's lore. `conversation_search` finds what was said
earlier by meaning (the stored messages' vectors): this channel's or this server's, never
another server's, and in a DM only that DM.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from clanker.llm.model import ToolSpec
from clanker.memory.model import FACT_TYPES, MAX_FACT_CHARS
from clanker.memory.owners import RecallScope, reply_scope, user_key, write_target
from clanker.memory.service import (
    MEMORY_NAME,
    ConversationFound,
    Forget,
    Forgotten,
    Recall,
    Recalled,
    Remember,
    Remembered,
    RememberRefused,
    SearchConversation,
)
from clanker.runtime import ActorError
from clanker.store.wallclock import calendar_now, to_iso
from clanker.text.tool_registry import Tool, ToolContext, ToolOutput

__all__ = [
    "CONVERSATION_SEARCH_SPEC",
    "MEMORY_FORGET_SPEC",
    "MEMORY_SEARCH_SPEC",
    "MEMORY_WRITE_SPEC",
    "SEARCHES_PER_HOUR",
    "WRITES_PER_HOUR",
    "conversation_search",
    "memory_forget",
    "memory_search",
    "memory_tools",
    "memory_write",
]

# Rules for the bot (guidance, behavioral) go into every recall's "server rule" lines: a member
# must not be able to set them by asking the model, so the tool writes only plain facts.
RULE_TYPES = frozenset({"guidance", "behavioral"})
TOOL_FACT_TYPES = tuple(t for t in FACT_TYPES if t not in RULE_TYPES)

SEARCHES_PER_HOUR = 60
WRITES_PER_HOUR = 30
FORGETS_PER_HOUR = 10
MAX_FORGET_IDS = 20
ASK_TIMEOUT = 5.0
MAX_QUERY_CHARS = 400
MAX_RESULTS = 10
MAX_CONVERSATION_HITS = 4
MAX_AGE_HOURS = 720
CONVERSATION_SEARCHES_PER_HOUR = 60
MAX_HIT_CHARS = 300

MEMORY_SEARCH_SPEC = ToolSpec(
    name="memory_search",
    description=(
        "Search what you remember about the people in this conversation, this server and "
        "yourself. Returns numbered facts with their ids (for memory_write's supersedes)."
    ),
    parameters={
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "What you want to recall, in words"},
            "limit": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_RESULTS,
                "description": "How many facts (default 5)",
            },
        },
        "required": ["query"],
        "additionalProperties": False,
    },
)

MEMORY_WRITE_SPEC = ToolSpec(
    name="memory_write",
    description=(
        "Remember one lasting fact: about the person who is talking to you (about='speaker'), "
        "or about this server (about='guild'). Only what they said or plainly showed; no "
        "secrets, nothing they would not want kept. A short third-person statement, e.g. "
        "'loves otters'."
    ),
    parameters={
        "type": "object",
        "properties": {
            "fact": {
                "type": "string",
                "description": f"The fact, at most {MAX_FACT_CHARS} characters",
            },
            "about": {"type": "string", "enum": ["speaker", "guild"]},
            "type": {"type": "string", "enum": list(TOOL_FACT_TYPES)},
            "supersedes": {
                "type": "integer",
                "description": "The id of a fact (from memory_search) this one replaces",
            },
        },
        "required": ["fact", "about"],
        "additionalProperties": False,
    },
)


MEMORY_FORGET_SPEC = ToolSpec(
    name="memory_forget",
    description=(
        "Forget facts about the person talking to you, when they ask you to: the ids they "
        "mean (from memory_search), or everything you remember about them (all=true). Only "
        "the speaker's own facts can be forgotten this way."
    ),
    parameters={
        "type": "object",
        "properties": {
            "fact_ids": {
                "type": "array",
                "items": {"type": "integer"},
                "maxItems": MAX_FORGET_IDS,
                "description": "Ids of the speaker's facts to forget",
            },
            "all": {"type": "boolean", "description": "Forget everything about the speaker"},
        },
        "additionalProperties": False,
    },
)


CONVERSATION_SEARCH_SPEC = ToolSpec(
    name="conversation_search",
    description=(
        "Find what was said earlier, by meaning: messages (and voice transcripts) of this "
        "channel, or of this whole server. Returns who said what, and when."
    ),
    parameters={
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "What you are looking for, in words"},
            "scope": {
                "type": "string",
                "enum": ["channel", "guild"],
                "description": "This channel (default) or the whole server",
            },
            "top_k": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_CONVERSATION_HITS,
                "description": "How many messages (default 3)",
            },
            "max_age_hours": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_AGE_HOURS,
                "description": "Only messages this recent (default 168, a week)",
            },
        },
        "required": ["query"],
        "additionalProperties": False,
    },
)


def _scope(context: ToolContext) -> RecallScope:
    if context.recall_owners:
        return RecallScope(context.recall_owners, context.recall_dm_facts)
    return reply_scope(guild_id=context.guild_id, speaker_id=context.user_id)


def _unavailable(what: str, detail: str) -> ToolOutput:
    return ToolOutput(
        f"Memory is unavailable right now ({detail}); {what}. Answer without it.", is_error=True
    )


def _label(owner_key: str, context: ToolContext) -> str:
    if owner_key == "self":
        return "you"
    if owner_key.startswith("guild:"):
        return "this server"
    if owner_key == user_key(context.user_id):
        return "the speaker"
    return f"user {owner_key.removeprefix('user:')}"


async def memory_search(
    arguments: Mapping[str, Any], context: ToolContext, *, name: str = MEMORY_NAME
) -> ToolOutput:
    """The tool: the facts this reply may see that best match ``query``."""
    query = arguments.get("query")
    if not isinstance(query, str) or not query.strip():
        return ToolOutput("memory_search needs a non-empty 'query' string.", is_error=True)
    query = " ".join(query.split())
    if len(query) > MAX_QUERY_CHARS:
        return ToolOutput(
            f"The query is {len(query)} characters; keep it under {MAX_QUERY_CHARS}.",
            is_error=True,
        )
    raw = arguments.get("limit", 5)
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return ToolOutput("'limit' must be a whole number from 1 to 10.", is_error=True)
    limit = max(1, min(int(raw), MAX_RESULTS))
    memory = context.services(name)
    if memory is None:
        return _unavailable("nothing was searched", "no memory service")
    scope = _scope(context)
    try:
        reply = await memory.ask(
            Recall(
                owner_keys=scope.owner_keys,
                query=query,
                channel_id=context.channel_id,
                limit=limit,
                with_dm_facts=scope.with_dm_facts,
            ),
            Recalled,
            timeout=ASK_TIMEOUT,
        )
    except ActorError as exc:
        return _unavailable("nothing was searched", str(exc))
    if reply.problem is not None:
        return _unavailable("nothing was searched", reply.problem)
    facts = [f for f in reply.facts if scope.allows(f.owner_key)]
    if not facts:
        return ToolOutput(f"Nothing remembered matches {query!r}.")
    lines = [f"Remembered, best match first ({query!r}):"]
    for n, fact in enumerate(facts, 1):
        lines.append(
            f"{n}. [{_label(fact.owner_key, context)}] {fact.fact} "
            f"(fact {fact.id}, {fact.fact_type})"
        )
    return ToolOutput("\n".join(lines))


async def memory_write(
    arguments: Mapping[str, Any], context: ToolContext, *, name: str = MEMORY_NAME
) -> ToolOutput:
    """The tool: remember one fact about the speaker or this guild (strict checks)."""
    fact = arguments.get("fact")
    if not isinstance(fact, str) or not fact.strip():
        return ToolOutput("memory_write needs a non-empty 'fact' string.", is_error=True)
    about = arguments.get("about", "speaker")
    target = write_target(
        about if isinstance(about, str) else repr(about),
        guild_id=context.guild_id,
        speaker_id=context.user_id,
    )
    if isinstance(target, str):
        return ToolOutput(target, is_error=True)
    fact_type = arguments.get("type", "other")
    if not isinstance(fact_type, str):
        return ToolOutput(f"'type' must be one of {', '.join(TOOL_FACT_TYPES)}.", is_error=True)
    if fact_type in RULE_TYPES:
        return ToolOutput(
            f"not remembered: a {fact_type} fact is a rule for the bot, and rules are the "
            "operator's to set, not a conversation's; remember it as a plain fact if it is one",
            is_error=True,
        )
    supersedes = arguments.get("supersedes")
    if supersedes is not None and (
        isinstance(supersedes, bool) or not isinstance(supersedes, int) or supersedes < 1
    ):
        return ToolOutput("'supersedes' must be a fact id from memory_search.", is_error=True)
    memory = context.services(name)
    if memory is None:
        return _unavailable("nothing was remembered", "no memory service")
    owner = target.owner
    try:
        reply = await memory.ask(
            Remember(
                scope=owner.scope,
                guild_id=owner.guild_id,
                user_id=owner.user_id,
                fact=fact,
                fact_type=fact_type,
                evidence_ids=(context.message_id,),
                channel_id=context.channel_id,
                supersedes=supersedes,
                mode="strict",
                learned_in_dm=target.learned_in_dm,
            ),
            timeout=ASK_TIMEOUT,
        )
    except ActorError as exc:
        return _unavailable("nothing was remembered", str(exc))
    if isinstance(reply, RememberRefused):
        return ToolOutput(reply.reason, is_error=True)
    if not isinstance(reply, Remembered):
        return ToolOutput(f"memory answered {type(reply).__name__}", is_error=True)
    whose = "this server" if owner.scope == "guild" else "the speaker"
    if reply.merged:
        return ToolOutput(f"Already remembered about {whose} (fact {reply.fact_id}); kept.")
    replaced = f", replacing fact {supersedes}" if supersedes is not None else ""
    return ToolOutput(f"Remembered about {whose} (fact {reply.fact_id}{replaced}).")


async def memory_forget(
    arguments: Mapping[str, Any], context: ToolContext, *, name: str = MEMORY_NAME
) -> ToolOutput:
    """The tool: delete the speaker's facts (some, or all) for good, as they asked."""
    everything = arguments.get("all", False)
    raw_ids = arguments.get("fact_ids", [])
    if not isinstance(everything, bool):
        return ToolOutput("'all' must be true or false.", is_error=True)
    if not isinstance(raw_ids, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) and i >= 1 for i in raw_ids
    ):
        return ToolOutput("'fact_ids' must be a list of fact ids from memory_search.", True)
    if len(raw_ids) > MAX_FORGET_IDS:
        return ToolOutput(
            f"At most {MAX_FORGET_IDS} fact ids at once; or use all=true.", is_error=True
        )
    if not raw_ids and not everything:
        return ToolOutput("Name the fact_ids to forget, or set all=true.", is_error=True)
    memory = context.services(name)
    if memory is None:
        return _unavailable("nothing was forgotten", "no memory service")
    try:
        reply = await memory.ask(
            Forget(
                owner_key=user_key(context.user_id),
                fact_ids=tuple(raw_ids),
                everything=everything,
            ),
            Forgotten,
            timeout=ASK_TIMEOUT,
        )
    except ActorError as exc:
        return _unavailable("nothing was forgotten", str(exc))
    if reply.problem is not None:
        done = f" ({len(reply.fact_ids)} were, before it failed)" if reply.fact_ids else ""
        return _unavailable(f"not everything was forgotten{done}", reply.problem)
    if not reply.fact_ids:
        return ToolOutput("Nothing to forget: none of those are the speaker's facts.")
    ids = ", ".join(str(i) for i in reply.fact_ids)
    return ToolOutput(f"Forgotten for good: {len(reply.fact_ids)} fact(s) ({ids}).")


def _whole(value: object, name: str, low: int, high: int, default: int) -> int | ToolOutput:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        return ToolOutput(f"'{name}' must be a whole number from {low} to {high}.", True)
    return max(low, min(int(value), high))


async def conversation_search(
    arguments: Mapping[str, Any],
    context: ToolContext,
    *,
    name: str = MEMORY_NAME,
    now: Callable[[], datetime] = calendar_now,
) -> ToolOutput:
    """The tool: earlier messages of this channel or server nearest in meaning to ``query``."""
    query = arguments.get("query")
    if not isinstance(query, str) or not query.strip():
        return ToolOutput("conversation_search needs a non-empty 'query' string.", True)
    query = " ".join(query.split())
    if len(query) > MAX_QUERY_CHARS:
        return ToolOutput(f"The query is {len(query)} characters; keep it under 400.", True)
    where = arguments.get("scope", "channel")
    if where not in ("channel", "guild"):
        return ToolOutput("'scope' must be 'channel' or 'guild'.", is_error=True)
    top_k = _whole(arguments.get("top_k"), "top_k", 1, MAX_CONVERSATION_HITS, 3)
    hours = _whole(arguments.get("max_age_hours"), "max_age_hours", 1, MAX_AGE_HOURS, 168)
    if isinstance(top_k, ToolOutput):
        return top_k
    if isinstance(hours, ToolOutput):
        return hours
    memory = context.services(name)
    if memory is None:
        return _unavailable("nothing was searched", "no memory service")
    channel = context.parent_channel_id or context.channel_id
    if context.guild_id is None:  # a DM: only that DM, whatever the scope asked
        key, channel_id = f"dm:{context.channel_id}", None
    else:
        key, channel_id = f"guild:{context.guild_id}", (channel if where == "channel" else None)
    try:
        reply = await memory.ask(
            SearchConversation(
                scope_key=key,
                query=query,
                channel_id=channel_id,
                since=to_iso(now() - timedelta(hours=hours)),
                k=top_k,
                exclude_ids=(context.message_id,) if context.message_id else (),
            ),
            ConversationFound,
            timeout=ASK_TIMEOUT,
        )
    except ActorError as exc:
        return _unavailable("nothing was searched", str(exc))
    if reply.problem is not None:
        return _unavailable("nothing was searched", reply.problem)
    if not reply.hits:
        return ToolOutput(f"Nothing said in the last {hours} hours matches {query!r}.")
    lines = [f"Said earlier, closest first ({query!r}):"]
    for n, hit in enumerate(reply.hits, 1):
        text = " ".join(hit.content.split())
        if len(text) > MAX_HIT_CHARS:
            text = text[: MAX_HIT_CHARS - 1] + "…"
        stamp = datetime.fromisoformat(hit.created_at).strftime("%Y-%m-%d %H:%M UTC")
        lines.append(f"{n}. [{stamp}] {hit.author_name} in <#{hit.channel_id}>: {text}")
    return ToolOutput("\n".join(lines))


def memory_tools(name: str = MEMORY_NAME) -> list[Tool]:
    """``memory_search`` (60 calls an hour by default), ``memory_write`` (30 an hour) and
    ``memory_forget`` (10 an hour) and ``conversation_search`` (60 an hour), for the reply
    registry; ``name`` is the memory service's
    registered name."""

    async def search(arguments: Mapping[str, Any], context: ToolContext) -> ToolOutput:
        return await memory_search(arguments, context, name=name)

    async def write(arguments: Mapping[str, Any], context: ToolContext) -> ToolOutput:
        return await memory_write(arguments, context, name=name)

    async def forget(arguments: Mapping[str, Any], context: ToolContext) -> ToolOutput:
        return await memory_forget(arguments, context, name=name)

    async def conversation(arguments: Mapping[str, Any], context: ToolContext) -> ToolOutput:
        return await conversation_search(arguments, context, name=name)

    return [
        Tool(spec=MEMORY_SEARCH_SPEC, run=search, per_hour=SEARCHES_PER_HOUR),
        Tool(spec=MEMORY_WRITE_SPEC, run=write, per_hour=WRITES_PER_HOUR),
        Tool(spec=MEMORY_FORGET_SPEC, run=forget, per_hour=FORGETS_PER_HOUR),
        Tool(
            spec=CONVERSATION_SEARCH_SPEC,
            run=conversation,
            per_hour=CONVERSATION_SEARCHES_PER_HOUR,
        ),
    ]
