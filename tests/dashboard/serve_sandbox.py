"""Run the tests' wiring (the real product in sandbox mode, the model scripted by llmsim, a
seeded cost history) until stdin closes (or Ctrl-C), for a person or a driver.

    .venv/bin/python -m tests.dashboard.serve_sandbox [--port 8780] [--db PATH]

Prints one JSON line ``{"url": ..., "token": ...}``. ``clanker sandbox`` is the product's own way
(with the offline demo brain or a real provider); this one answers exactly as the browser test
expects.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import trio

from clanker.dashboard import DashboardConfig
from tests.dashboard.wiring import describe, wired_sandbox


async def main(port: int, db: Path) -> None:
    config = DashboardConfig(port=port, allow_operator_crash=True)
    async with wired_sandbox(db, config=config, seed_history=True) as wired:
        print(describe(wired), flush=True)
        print(f"open {wired.url}/#token={wired.token}", file=sys.stderr, flush=True)
        stdin = trio.lowlevel.FdStream(sys.stdin.fileno())
        while await stdin.receive_some():
            pass


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--db", type=Path, default=None)
    args = parser.parse_args()
    db = args.db or Path(tempfile.mkdtemp(prefix="clanker-dash-")) / "clanker.db"
    trio.run(main, args.port, db)
