"""Message validation and the wire check.

Actor messages are frozen msgspec Structs. With the wire check on, every message (and every ask
reply) is encoded to msgpack and decoded back before delivery, and the copy must equal the
original: any message that could not cross a process boundary fails loudly where it was sent.
`Message`, the house base class, lives in the leaf module `clanker.wire` so that wire formats
can declare messages without importing trio; `clanker.runtime` re-exports it.
"""

from __future__ import annotations

import os
from typing import Any, TypeVar

import msgspec

from clanker.runtime._errors import InvalidMessage, WireCheckError

T = TypeVar("T")

_valid_types: set[type] = set()
_encoder = msgspec.msgpack.Encoder()
_decoders: dict[type, msgspec.msgpack.Decoder[Any]] = {}

WIRE_CHECK_ENV = "CLANKER_WIRE_CHECK"


def wire_check_default() -> bool:
    """The wire-check default: on when ``CLANKER_WIRE_CHECK`` is set to 1/true/yes."""
    return os.environ.get(WIRE_CHECK_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def validate_message(msg: object) -> None:
    """Raise `InvalidMessage` unless ``msg`` is an instance of a frozen msgspec Struct."""
    cls = type(msg)
    if cls in _valid_types:
        return
    if not isinstance(msg, msgspec.Struct):
        raise InvalidMessage(
            f"actor messages must be frozen msgspec Structs, got {cls.__qualname__}: {msg!r:.80}"
        )
    if not msg.__struct_config__.frozen:
        raise InvalidMessage(
            f"{cls.__qualname__} is a mutable Struct; declare it with frozen=True so it can be "
            "shared between actors safely"
        )
    _valid_types.add(cls)


def wire_roundtrip(msg: T) -> T:
    """Encode ``msg`` to msgpack and decode it as its own type; the copy must equal it."""
    cls = type(msg)
    try:
        data = _encoder.encode(msg)
        decoder = _decoders.get(cls)
        if decoder is None:
            decoder = _decoders[cls] = msgspec.msgpack.Decoder(cls)
        copy: T = decoder.decode(data)
    except (TypeError, ValueError, msgspec.MsgspecError) as exc:
        raise WireCheckError(
            f"{cls.__qualname__} cannot cross a process boundary: {exc}. "
            "Use only msgspec-encodable fields (no callables, channels, events or sockets)."
        ) from exc
    if copy != msg:
        raise WireCheckError(
            f"{cls.__qualname__} changed in a msgpack round trip: sent {msg!r:.200}, "
            f"got {copy!r:.200}. Annotate fields with the types they really hold."
        )
    return copy
