"""The automation tools' names (imported by the reply path, which never offers them to a run)."""

from __future__ import annotations

CREATE = "automation_create"
LIST = "automation_list"
PAUSE = "automation_pause"
RESUME = "automation_resume"
DELETE = "automation_delete"

AUTOMATION_TOOLS: tuple[str, ...] = (CREATE, LIST, PAUSE, RESUME, DELETE)
