"""The query-embedding cache: the same recall query within 60 s is not embedded again.

At most ``capacity`` (256) entries, least recently used evicted first; an entry older than
``ttl`` (60 s) is a miss and is dropped. Keyed by model and whitespace-collapsed text. Times are
whatever clock the caller passes (the service passes trio time). Sans-IO.
"""

from __future__ import annotations

from collections import OrderedDict

Vector = tuple[float, ...]


class QueryVectorCache:
    def __init__(self, *, ttl: float = 60.0, capacity: int = 256) -> None:
        if ttl <= 0 or capacity < 1:
            raise ValueError(f"ttl must be > 0 and capacity >= 1, got {ttl} and {capacity}")
        self.ttl = ttl
        self.capacity = capacity
        self._entries: OrderedDict[tuple[str, str], tuple[float, Vector]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def _key(model: str, text: str) -> tuple[str, str]:
        return model, " ".join(text.split())

    def get(self, model: str, text: str, now: float) -> Vector | None:
        key = self._key(model, text)
        entry = self._entries.get(key)
        if entry is None or now - entry[0] >= self.ttl:
            if entry is not None:
                del self._entries[key]
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return entry[1]

    def put(self, model: str, text: str, vector: Vector, now: float) -> None:
        key = self._key(model, text)
        self._entries[key] = (now, vector)
        self._entries.move_to_end(key)
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
