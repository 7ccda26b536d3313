"""The operator's "Check now", shaped without I/O (docs/dashboard-api.md).

``POST /api/initiative/check`` asks the initiative actor `CheckNow`; it answers with one line,
each server's outcome joined by ``"; "`` (``"100: post; 200: skip min_gap"``), or a line that
names no server (``"no server"``, ``"not logged in yet"``). This module reads that line into
one `CheckOutcome` per server, named from the directory, and says what to log. The line itself
is kept in the answer as it was, so an outcome this reader does not know is never lost.

Nothing here imports trio or touches the Store.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from clanker.automations.view import Names

OPERATOR_CHECK_KIND = "operator_initiative_check"
"""The action kind the dashboard logs for each check the operator asked for."""
_PART = re.compile(r"(\d+): (\S.*)")


class CheckOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """One server's outcome: ``post``, ``hold``, ``drop`` or ``skip <gate>``
    (``skip min_gap``, ``skip no_channel``, …: the gates of docs/dashboard-api.md)."""

    guild_id: str
    guild_name: str | None
    outcome: str


class InitiativeCheck(msgspec.Struct, frozen=True, kw_only=True):
    """What a check did: the actor's line (``detail``) and each server's outcome in it, in the
    actor's order (none when the line names no server)."""

    detail: str
    outcomes: list[CheckOutcome]


def read_outcomes(detail: str) -> list[tuple[int, str]]:
    """``(guild id, outcome)`` for each ``"<id>: <outcome>"`` part of ``detail``; a part of
    another form (``"no server"``) is left out."""
    out = []
    for part in detail.split("; "):
        match = _PART.fullmatch(part.strip())
        if match is not None:
            out.append((int(match.group(1)), match.group(2).strip()))
    return out


def check_view(detail: str, names: Names) -> InitiativeCheck:
    """The answer of ``POST /api/initiative/check`` for the actor's ``detail``."""
    return InitiativeCheck(
        detail=detail,
        outcomes=[
            CheckOutcome(guild_id=str(gid), guild_name=names.guild(gid), outcome=outcome)
            for gid, outcome in read_outcomes(detail)
        ],
    )


def check_log(check: InitiativeCheck | None, timeout: float) -> tuple[str, dict[str, Any]]:
    """The logged action's content and metadata; ``check`` None: it did not answer within
    ``timeout`` seconds (it goes on in the actor)."""
    if check is None:
        return (
            f"checked initiative now: no answer within {timeout:g} s",
            {"detail": None, "outcomes": [], "timed_out": True},
        )
    outcomes = [{"guild_id": o.guild_id, "outcome": o.outcome} for o in check.outcomes]
    return (
        f"checked initiative now: {check.detail}",
        {"detail": check.detail, "outcomes": outcomes, "timed_out": False},
    )
