"""The Discord bridge: discord.py-self lives here and nowhere else in clanker."""
