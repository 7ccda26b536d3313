"""Test-suite wide settings.

The wire check is on for every runtime created in the tests: each mailbox round-trips every
message through msgpack, so a message that could not cross a process boundary fails its test.
"""

import os

os.environ["CLANKER_WIRE_CHECK"] = "1"
