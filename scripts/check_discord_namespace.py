"""Fail loudly if `discord` is not discord.py-self 2.1.0.

discord.py and discord.py-self share the ``discord`` package; installing both silently breaks the
user-account API (see docs/architecture.md). This check runs first in the test command.
"""

import sys

import discord

EXPECTED = "2.1.0"
version = getattr(discord, "__version__", None)
if version != EXPECTED or not hasattr(discord.Client, "fetch_preferred_rtc_regions"):
    sys.exit(
        f"the installed 'discord' package is {version!r}, not discord.py-self {EXPECTED}: "
        "something installed discord.py over it. Remove .venv and re-run scripts/bootstrap."
    )
print(f"discord.py-self {version} ok")
