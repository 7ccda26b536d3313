"""Initiative: clanker posts on its own (docs/initiative.md)."""
