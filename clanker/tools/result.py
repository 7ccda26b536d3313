"""What a tool hands back to the model: text, and whether it is an error to recover from."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ToolResult"]


@dataclass(frozen=True)
class ToolResult:
    """A tool's answer. ``content`` is text for the model; with ``is_error`` it says what went
    wrong in words the model can act on. Same fields as the tool loop's ``ToolOutput``
    (``clanker.text.tool_registry``), so wrapping one in the other is field for field."""

    content: str
    is_error: bool = False
    usd_cost: float = 0.0
