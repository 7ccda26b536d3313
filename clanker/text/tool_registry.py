"""The tools a reply may call: each a `ToolSpec` (what the model sees) and an async function.

A tool is registered once, at start (`ToolRegistry.register`); the reply path offers the model
the enabled ones (`Tools` settings) and runs the calls it makes through a `ToolLoop`. A tool's
function takes the call's arguments and a `ToolContext` (where the reply is) and returns a
`ToolOutput`: text for the model, whether it is an error the model should recover from, and what
the call cost. Tools get whatever else they need (a store, an HTTP client, keys) when they are
built, not per call.

Nothing here imports trio: tools are awaited by the caller's loop.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from clanker.llm.model import ImagePart, ToolSpec
from clanker.settings.model import Settings

__all__ = ["Tool", "ToolContext", "ToolOutput", "ToolRegistry", "ToolRun"]


@dataclass(frozen=True)
class ToolContext:
    """Where the call comes from: the reply's guild (None in a DM), channel, trigger message and
    its author. ``lookup`` finds an actor by its registered name (the runtime's registry; e.g.
    ``browser_browse`` asks the browser agent), None where the caller has no runtime.

    ``recall_owners`` / ``recall_dm_facts``: the memory owners this reply may name (the privacy
    rule, `clanker.memory.owners.reply_scope`), as its prompt did. ``services``: the reply's
    tree, a registered actor by name or None (how the memory tools reach the memory service,
    which is not there yet when tools are built)."""

    guild_id: int | None
    channel_id: int
    message_id: int
    user_id: int
    lookup: Callable[[str], Any] | None = field(default=None, compare=False)
    recall_owners: tuple[str, ...] = ()
    recall_dm_facts: bool = False
    services: Callable[[str], Any] = field(default=lambda name: None, compare=False, repr=False)
    user_name: str = ""  # the trigger's author, as the channel knows them
    parent_channel_id: int | None = None  # the channel's parent, in a thread
    settings: Settings | None = field(default=None, compare=False, repr=False)  # the reply's


@dataclass(frozen=True)
class ToolOutput:
    """What a tool returns: `content` for the model (an error it can act on when `is_error`),
    and the call's cost in USD (0 for free tools)."""

    content: str
    is_error: bool = False
    usd_cost: float = 0.0
    # Images for the model to see with the result (e.g. `image_lookup`): they follow the
    # step's tool results in the next request.
    images: tuple[ImagePart, ...] = ()


ToolRun = Callable[[Mapping[str, Any], ToolContext], Awaitable[ToolOutput]]


@dataclass(frozen=True)
class Tool:
    """One tool. `per_hour` is its default hourly budget across the bot (None: unlimited); the
    `tools.hourly_limits` setting overrides it by name. `call_timeout`: seconds one call may
    take, for a tool whose calls are long by design (``browser_browse``); None: the
    ``tools.call_timeout_seconds`` setting."""

    spec: ToolSpec
    run: ToolRun
    per_hour: int | None = None
    call_timeout: float | None = None

    @property
    def name(self) -> str:
        return self.spec.name


class ToolRegistry:
    """The tools known to this process, by name."""

    def __init__(self, tools: Iterable[Tool] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        for tool in tools:
            self.register(tool)

    def register(self, tool: Tool) -> None:
        """Add `tool`; a second tool with the same name is an error."""
        if tool.name in self._tools:
            raise ValueError(f"a tool named {tool.name!r} is already registered")
        if tool.per_hour is not None and tool.per_hour < 0:
            raise ValueError(f"tool {tool.name!r}: per_hour {tool.per_hour} is negative")
        self._tools[tool.name] = tool

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    @property
    def names(self) -> list[str]:
        """Registered tool names, in registration order."""
        return list(self._tools)

    def enabled(self, disabled: Iterable[str] = ()) -> list[Tool]:
        """The tools not named in `disabled`, in registration order."""
        off = set(disabled)
        return [tool for name, tool in self._tools.items() if name not in off]

    def __len__(self) -> int:
        return len(self._tools)
