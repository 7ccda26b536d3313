"""The query-embedding cache: 60 s lifetime, LRU capacity, keyed by model and text."""

from __future__ import annotations

import pytest

from clanker.memory.cache import QueryVectorCache


def test_a_query_is_reused_for_less_than_the_ttl() -> None:
    cache = QueryVectorCache(ttl=60.0)
    cache.put("m", "what  does she play", (1.0,), now=100.0)
    assert cache.get("m", "what does she play ", now=159.9) == (1.0,)
    assert cache.get("other-model", "what does she play", now=100.0) is None
    assert cache.get("m", "what does she play", now=160.0) is None  # expired: dropped
    assert len(cache) == 0
    assert (cache.hits, cache.misses) == (1, 2)


def test_the_least_recently_used_entry_goes_first() -> None:
    cache = QueryVectorCache(capacity=2)
    cache.put("m", "a", (1.0,), now=0.0)
    cache.put("m", "b", (2.0,), now=0.0)
    assert cache.get("m", "a", now=1.0) == (1.0,)  # a is now the most recent
    cache.put("m", "c", (3.0,), now=2.0)
    assert cache.get("m", "b", now=2.0) is None
    assert cache.get("m", "a", now=2.0) == (1.0,)
    assert cache.get("m", "c", now=2.0) == (3.0,)


def test_bad_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="ttl must be > 0 and capacity >= 1, got 0 and 256"):
        QueryVectorCache(ttl=0)
