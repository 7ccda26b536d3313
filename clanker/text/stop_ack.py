"""The acknowledgement of a stop request, written by the model: its prompt, and reading it back.

When a stop word cancels a reply in flight (docs/text-pipeline.md, "Stop words"), the channel
asks the model for one short line in clanker's own voice saying it stopped, and posts it as a
reply to the stop request; when the model fails, stays silent or answers nothing usable, the
channel reacts 🛑 instead. Pure functions: no I/O, no trio.
"""

from __future__ import annotations

from dataclasses import dataclass

from clanker.settings.model import Settings
from clanker.text.output import parse_reply_output

__all__ = ["ACK_MAX_CHARS", "StopAckPrompt", "read_stop_ack", "stop_ack_prompt"]

ACK_MAX_CHARS = 200


@dataclass(frozen=True)
class StopAckPrompt:
    system: str
    user: str


def stop_ack_prompt(
    settings: Settings, *, author: str, request: str, doing: str | None = None
) -> StopAckPrompt:
    """The model's instructions: who asked to stop (``author``, their words ``request``) and,
    if known, what was stopped (``doing``: e.g. "looking something up on the web")."""
    identity = settings.identity
    system = "\n".join(
        [
            "PERSONA",
            settings.persona.flavor.strip(),
            "",
            f"Your name here is {identity.bot_name}.",
        ]
    )
    what = f" (you were {doing})" if doing else ""
    user = (
        f"{author} just said: “{request.strip()[:300]}”. You have stopped what you were doing"
        f"{what}. Write the one short line you post to say you stopped: at most 12 words, "
        "in your own voice, plain text (no JSON, no quotes), no question."
    )
    return StopAckPrompt(system, user)


def read_stop_ack(raw: str) -> str | None:
    """The line to post from the model's answer, or None (react instead): skipped, empty, or
    nothing but whitespace. Accepts plain text or clanker's JSON reply object; keeps the first
    non-empty line, without surrounding quotes, at most `ACK_MAX_CHARS` characters."""
    output = parse_reply_output(raw)
    if output.skip:
        return None
    for line in output.text.splitlines():
        line = line.strip().strip("\"'“”").strip()
        if line:
            return line if len(line) <= ACK_MAX_CHARS else line[: ACK_MAX_CHARS - 1] + "…"
    return None
