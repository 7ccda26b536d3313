"""Automations: scheduled tasks members ask for in plain words (docs/automations.md)."""
