"""clanker."""
