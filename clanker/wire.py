"""The msgspec base of clanker's actor messages, in a leaf module.

`Message` lives here, not in the runtime, so that wire formats and sans-IO cores (the clankvox
frame codec, the Store's request structs, the LLM wire mappings …) can declare messages without
importing the actor kernel and, through it, trio. ``clanker.runtime.Message`` is the same class,
re-exported. The wire check itself (validation and the msgpack round trip on every send) stays
in ``clanker.runtime._wire``, where the mailboxes use it.

This module must import nothing but msgspec (``tests/test_sans_io_imports.py`` checks it).
"""

from __future__ import annotations

import msgspec


class Message(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    """Convenience base for actor messages: frozen, keyword-only, tagged by class name.

    Any frozen msgspec Struct is a valid message; subclassing this one just sets the house
    defaults so that a union of message types decodes by its ``type`` tag.
    """
