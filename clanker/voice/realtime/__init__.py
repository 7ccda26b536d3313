"""Realtime speech-to-speech providers (issue 14): the interface in `api`, one sans-IO
session per provider beside it."""
