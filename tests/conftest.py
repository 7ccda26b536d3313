"""Test-suite wide settings.

The wire check is on for every runtime created in the tests: each mailbox round-trips every
message through msgpack, so a message that could not cross a process boundary fails its test.
"""

import os

os.environ["CLANKER_WIRE_CHECK"] = "1"


# -- chaos: how many seeds tests/chaos runs ------------------------------------------------------


def pytest_addoption(parser):  # type: ignore[no-untyped-def]
    parser.addoption(
        "--seeds",
        type=int,
        default=20,
        help="tests/chaos: run seeds 0..N-1 (default 20); a failing seed prints how to replay it",
    )
