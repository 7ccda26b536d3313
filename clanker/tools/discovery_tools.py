"""The discovery-source tools: the bot curates its own feeds (docs/initiative.md, "Curation").

Offered to initiative decisions only, and only while ``initiative.allow_self_curation`` is on.
``discovery_source_list`` names the sources; ``discovery_source_add`` and
``discovery_source_remove`` change the live setting ``initiative.feed_sources`` through the
settings actor (compare-and-swap, so an operator's concurrent edit is never overwritten: the
change is read again and retried once), within ``initiative.max_sources_per_kind`` sources of
each kind and the setting's 50 in all. Every refusal says why.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from clanker.feeds.sources import FeedSource, SourceError, parse_weighted_source
from clanker.llm.model import ToolSpec
from clanker.runtime import ActorError
from clanker.settings import SETTINGS_NAME
from clanker.settings.messages import (
    CurrentSettings,
    GetSettings,
    SettingsRejected,
    SettingsUpdated,
    UpdateSettings,
)
from clanker.text.tool_registry import Tool, ToolContext, ToolOutput

LIST = "discovery_source_list"
ADD = "discovery_source_add"
REMOVE = "discovery_source_remove"
NAMES = (LIST, ADD, REMOVE)
MAX_SOURCES = 50  # the setting's own limit
ASK_TIMEOUT = 5.0
CHANGES_PER_HOUR = 6

_SOURCE = {
    "type": "string",
    "description": (
        "r/<subreddit>, hn:top, hn:new, youtube:<channel id> (UC…), or an http(s) RSS/Atom "
        "feed URL; optionally a weight after a space (r/python 2)"
    ),
}


def _spec(name: str, description: str, *, source: bool) -> ToolSpec:
    properties: dict[str, Any] = {"source": _SOURCE} if source else {}
    return ToolSpec(
        name=name,
        description=description,
        parameters={
            "type": "object",
            "properties": properties,
            "required": ["source"] if source else [],
            "additionalProperties": False,
        },
    )


def _error(text: str) -> ToolOutput:
    return ToolOutput(text, is_error=True)


async def _current(context: ToolContext) -> CurrentSettings | str:
    ref = context.services(SETTINGS_NAME)
    if ref is None:
        return "the settings are not reachable right now"
    try:
        reply: CurrentSettings = await ref.ask(GetSettings(), CurrentSettings, timeout=ASK_TIMEOUT)
    except ActorError as exc:
        return f"the settings did not answer: {exc}"
    return reply


def _describe(sources: tuple[str, ...]) -> str:
    if not sources:
        return "No discovery sources yet."
    return "Discovery sources: " + "; ".join(sources) + "."


async def run_list(arguments: Mapping[str, Any], context: ToolContext) -> ToolOutput:
    current = await _current(context)
    if isinstance(current, str):
        return _error(current)
    return ToolOutput(_describe(current.settings.initiative.feed_sources))


def _parse(arguments: Mapping[str, Any]) -> FeedSource | str:
    text = arguments.get("source")
    if not isinstance(text, str) or not text.strip():
        return "source must be a non-empty string, e.g. 'r/python' or 'hn:top'"
    try:
        return parse_weighted_source(text)
    except (SourceError, ValueError) as exc:
        return f"{text!r} is not a source: {exc}"


def _key_of(text: str) -> str | None:
    try:
        return parse_weighted_source(text).key
    except (SourceError, ValueError):
        return None


async def _change(
    context: ToolContext, arguments: Mapping[str, Any], *, adding: bool
) -> ToolOutput:
    source = _parse(arguments)
    if isinstance(source, str):
        return _error(source)
    text = str(arguments["source"]).strip()
    for _ in range(2):  # a concurrent edit: read again and retry once
        current = await _current(context)
        if isinstance(current, str):
            return _error(current)
        ini = current.settings.initiative
        if not ini.allow_self_curation:
            return _error(
                "curating discovery sources is turned off (initiative.allow_self_curation)"
            )
        listed = list(ini.feed_sources)
        keys = [_key_of(t) for t in listed]
        if adding:
            if source.key in keys:
                return _error(f"{text!r} is already a source")
            same_kind = sum(1 for k in keys if k is not None and k.split(":", 1)[0] == source.kind)
            if same_kind >= ini.max_sources_per_kind:
                return _error(
                    f"already {same_kind} {source.kind} sources (initiative.max_sources_per_kind "
                    f"{ini.max_sources_per_kind}): remove one first"
                )
            if len(listed) >= MAX_SOURCES:
                return _error(f"already {MAX_SOURCES} sources in all: remove one first")
            wanted = [*listed, text]
        else:
            if source.key not in keys:
                return _error(f"{text!r} is not one of the sources; {_describe(tuple(listed))}")
            wanted = [t for t, k in zip(listed, keys, strict=True) if k != source.key]
        ref = context.services(SETTINGS_NAME)
        if ref is None:
            return _error("the settings are not reachable right now")
        try:
            reply = await ref.ask(
                UpdateSettings(
                    patch=json.dumps({"initiative": {"feed_sources": wanted}}),
                    expected_version=current.version,
                ),
                timeout=ASK_TIMEOUT,
            )
        except ActorError as exc:
            return _error(f"the settings did not answer: {exc}")
        if isinstance(reply, SettingsUpdated):
            verb = "Added" if adding else "Removed"
            return ToolOutput(f"{verb} {text!r}. {_describe(tuple(wanted))}")
        if isinstance(reply, SettingsRejected):
            return _error("the settings refused it: " + "; ".join(str(p) for p in reply.problems))
    return _error("the settings kept changing underneath; try again later")


async def run_add(arguments: Mapping[str, Any], context: ToolContext) -> ToolOutput:
    return await _change(context, arguments, adding=True)


async def run_remove(arguments: Mapping[str, Any], context: ToolContext) -> ToolOutput:
    return await _change(context, arguments, adding=False)


def discovery_tools() -> list[Tool]:
    """The three tools (offered by the initiative actor when curation is allowed)."""
    return [
        Tool(_spec(LIST, "List your discovery feed sources.", source=False), run_list),
        Tool(
            _spec(
                ADD,
                "Add a discovery feed source you think this community would enjoy.",
                source=True,
            ),
            run_add,
            per_hour=CHANGES_PER_HOUR,
        ),
        Tool(
            _spec(REMOVE, "Remove a discovery feed source that yields nothing good.", source=True),
            run_remove,
            per_hour=CHANGES_PER_HOUR,
        ),
    ]
