"""The runtime demo (the README's first command until the sandbox lands)."""

from __future__ import annotations

import trio
import trio.testing

from clanker.__main__ import main
from clanker.demo import demo_main


async def test_demo_shows_a_crash_and_the_recovery(autojump_clock: trio.testing.MockClock) -> None:
    lines: list[str] = []
    await demo_main(6.0, 0, lines.append)
    text = "\n".join(lines)
    assert "CRASHED    root/jobs/worker: RuntimeError: job" in text
    assert "restarted  root/jobs/worker (restart #1)" in text
    # rest_for_one: the notifier (declared after the worker) restarts with it; the feeder
    # (declared before) and the ledger (another branch) do not.
    assert "restarted  root/jobs/notifier (restart #1)" in text
    restarts = "\n".join(line for line in lines if "restarted" in line)
    assert "root/ledger" not in restarts and "root/jobs/feeder" not in restarts
    final = lines[lines.index(next(x for x in lines if x.startswith("ledger: "))) :]
    assert any("worker [actor, running, restarts" in x for x in final)
    assert trio.current_time() == 6.0


async def test_demo_is_deterministic_per_seed(autojump_clock: trio.testing.MockClock) -> None:
    first: list[str] = []
    second: list[str] = []
    other: list[str] = []
    await demo_main(6.0, 3, first.append)
    await demo_main(6.0, 3, second.append)
    await demo_main(6.0, 4, other.append)
    assert first == second
    assert first != other


def test_cli_rejects_unknown_commands(capsys: object) -> None:
    import pytest

    with pytest.raises(SystemExit) as info:
        main(["fly"])
    assert info.value.code == 2
