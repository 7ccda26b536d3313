"""`clanker run`: the product against Discord itself, configured from the environment."""

from __future__ import annotations

import logging
import sys

import trio
import trio_asyncio

from clanker.app import AppConfig, ConfigError, app_spec
from clanker.runtime import open_runtime


def run_live(*, verbose: bool = False) -> int:
    """Run until interrupted; returns the process exit status."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        config = AppConfig.from_env()
    except ConfigError as exc:
        print(f"clanker: {exc}", file=sys.stderr)
        return 2

    async def main() -> None:
        async with trio_asyncio.open_loop(), open_runtime(app_spec(config)) as rt:
            print(f"clanker is running (store: {config.db_path}); Ctrl-C stops it.", flush=True)
            await rt.wait_stopped()

    try:
        trio.run(main)
    except KeyboardInterrupt:
        print("stopped.", file=sys.stderr)
        return 130
    return 0
