"""The SPA's decision-trail grouping (``dashboard/src/activity/trails.ts``), unit-tested in Node
on action rows shaped as the text pipeline logs them (``dashboard/tests/trails.test.mjs``).
A missing Node or ``npm ci`` fails the test; it is never skipped."""

from __future__ import annotations

import shutil
from pathlib import Path

import trio

DASHBOARD = Path(__file__).resolve().parents[2] / "dashboard"


async def test_trails_group_the_real_action_kinds() -> None:
    node = shutil.which("node")
    assert node is not None, "node is not installed (Node 20 is part of the machine image)"
    assert (DASHBOARD / "node_modules" / "typescript").is_dir(), (
        "typescript is not installed: run `cd dashboard && npm ci`"
    )
    result = await trio.run_process(
        [node, "tests/trails.test.mjs"],
        cwd=DASHBOARD,
        capture_stdout=True,
        capture_stderr=True,
        check=False,
    )
    output = result.stdout.decode() + result.stderr.decode()
    assert result.returncode == 0, output
    assert "4 passed, 0 failed" in output, output
