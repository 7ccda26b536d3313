"""The Memory view's embeddings line (``dashboard/src/views/embeddingLine.ts``), unit-tested in
Node on answers shaped as ``GET /api/memory/embedding`` sends them
(``dashboard/tests/embedding_line.test.mjs``): the wording, thousands separated, how often it
asks again. A missing Node or ``npm ci`` fails the test; it is never skipped."""

from __future__ import annotations

import shutil
from pathlib import Path

import trio

DASHBOARD = Path(__file__).resolve().parents[2] / "dashboard"


async def test_the_embeddings_line_reads_as_the_view_shows_it() -> None:
    node = shutil.which("node")
    assert node is not None, "node is not installed (Node 20 is part of the machine image)"
    assert (DASHBOARD / "node_modules" / "typescript").is_dir(), (
        "typescript is not installed: run `cd dashboard && npm ci`"
    )
    result = await trio.run_process(
        [node, "tests/embedding_line.test.mjs"],
        cwd=DASHBOARD,
        capture_stdout=True,
        capture_stderr=True,
        check=False,
    )
    output = result.stdout.decode() + result.stderr.decode()
    assert result.returncode == 0, output
    assert "3 passed, 0 failed" in output, output
