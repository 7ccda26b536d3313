"""The scheduler: one place for every timed job (docs/scheduler.md)."""
