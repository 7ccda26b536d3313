"""Test-suite wide settings.

The wire check is on for every runtime created in the tests: each mailbox round-trips every
message through msgpack, so a message that could not cross a process boundary fails its test.
"""

import collections
import inspect
import os

import pytest
from hypothesis import settings

os.environ["CLANKER_WIRE_CHECK"] = "1"

# -- hypothesis: reproducible by default, deeper on request ----------------------------------------
# "ci" (the default) is derandomized: every run of the test command tries the same examples, so
# a clean clone cannot turn red on a lucky draw. CLANKER_HYPOTHESIS=deep searches randomly and
# harder; a failure prints its seed (`@seed(...)`) and the falsifying example to keep.
settings.register_profile("ci", derandomize=True, print_blob=True, deadline=None)
settings.register_profile("deep", max_examples=2000, print_blob=True, deadline=None)
settings.load_profile(os.environ.get("CLANKER_HYPOTHESIS", "ci"))


# -- chaos: how many seeds tests/chaos runs ------------------------------------------------------


def pytest_addoption(parser):  # type: ignore[no-untyped-def]
    parser.addoption(
        "--seeds",
        type=int,
        default=20,
        help="tests/chaos: run seeds 0..N-1 (default 20); a failing seed prints how to replay it",
    )


# -- the test summary counts tests by the clock they run on -------------------------------------

VIRTUAL_FIXTURES = {"autojump_clock", "mock_clock"}


def clock_kind(item) -> str:  # type: ignore[no-untyped-def]
    """ "virtual" (a trio MockClock: the fixture, or a plain test that runs trio on one), "real"
    (a trio test on the real clock: sockets, subprocesses, the browser, worker threads) or
    "none" (a plain function: no trio at all)."""
    if VIRTUAL_FIXTURES & set(getattr(item, "fixturenames", ())):
        return "virtual"
    function = getattr(item, "function", None)
    if function is None:
        return "none"
    raw = inspect.unwrap(function)
    inner = getattr(getattr(function, "hypothesis", None), "inner_test", None)
    if inspect.iscoroutinefunction(raw) or inspect.iscoroutinefunction(inner):
        return "real"
    try:
        source = inspect.getsource(raw)
    except (OSError, TypeError):
        return "none"
    return "virtual" if "MockClock" in source else "none"


CLOCKS = pytest.StashKey[collections.Counter[str]]()


def pytest_collection_finish(session):  # type: ignore[no-untyped-def]
    session.config.stash[CLOCKS] = collections.Counter(clock_kind(i) for i in session.items)


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # type: ignore[no-untyped-def]
    counts = config.stash.get(CLOCKS, None)
    if not counts:
        return
    terminalreporter.write_line(
        f"clocks: {counts['virtual']} tests on virtual time (MockClock), {counts['real']} on "
        f"the real clock (sockets, subprocesses, the browser, worker threads), {counts['none']} "
        "without trio"
    )
