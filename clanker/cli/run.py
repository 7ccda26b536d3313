"""`clanker run`: the product against Discord itself, configured from the environment."""

from __future__ import annotations

import signal
import sys
from collections.abc import AsyncIterator

import trio
import trio_asyncio

from clanker.app import AppConfig, ConfigError, app_spec
from clanker.discord.bridge import wait_for_login
from clanker.logsetup import configure_logging
from clanker.runtime import Runtime, open_runtime


async def stop_on_signal(signals: AsyncIterator[int], rt: Runtime) -> None:
    """SIGTERM/SIGINT: stop the tree in order (the reverse of its start: the dashboard and
    the bridge first, the Store last), each child within its shutdown bound, so replies in
    flight finish or are cancelled and logged, clankvox is closed and the Store flushed. A
    second signal kills at once."""
    async for number in signals:
        print(f"{signal.Signals(number).name}: stopping (again to kill) …", file=sys.stderr)
        break
    async with trio.open_nursery() as nursery:
        nursery.start_soon(rt.shutdown)
        async for _number in signals:
            raise KeyboardInterrupt


async def announce_login(rt: Runtime, timeout: float) -> None:
    """Say when the bridge has logged in (it logs in after the tree has started)."""
    try:
        me = await wait_for_login(rt, timeout=timeout)
    except TimeoutError as exc:
        print(f"clanker: {exc}; still trying (see the log)", file=sys.stderr, flush=True)
        return
    print(f"logged in to Discord as {me.user_name} ({len(me.guild_ids)} guilds)", flush=True)


def run_live(*, verbose: bool = False) -> int:
    """Run until interrupted; returns the process exit status."""
    configure_logging(verbose=verbose)
    try:
        config = AppConfig.from_env()
    except ConfigError as exc:
        print(f"clanker: {exc}", file=sys.stderr)
        return 2

    async def main() -> None:
        with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async with trio_asyncio.open_loop(), open_runtime(app_spec(config)) as rt:
                print(f"clanker is running (store: {config.db_path}); Ctrl-C stops it.", flush=True)
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(stop_on_signal, signals, rt)
                    nursery.start_soon(announce_login, rt, config.login_timeout)
                    await rt.wait_stopped()
                    nursery.cancel_scope.cancel()
        print("stopped.", file=sys.stderr)

    try:
        trio.run(main)
    except KeyboardInterrupt:
        print("stopped.", file=sys.stderr)
        return 130
    return 0
