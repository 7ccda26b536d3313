"""Ranking recalled facts: hybrid scores, temporal decay, a relevance gate and an MMR re-rank.

The Store hands over candidates (from ``vec0`` KNN, FTS5 and the most recent facts, merged by
id), each with its cosine similarity to the query (if both have a vector) and its FTS5 bm25 (if
it was a lexical hit). For each:

* ``semantic`` = the cosine rescaled from ``[semantic_floor, 1]`` to ``[0, 1]`` (e5 models put
  unrelated text near 0.7, so their floor is 0.7; 0 when there is no vector);
* ``lexical`` = ``0.6 · coverage + 0.4 · bm25_rel``: the share of the query's content words
  found in the fact, subject or evidence, and the bm25 relative to the best bm25 among the
  candidates (FTS5 bm25 is negative; more negative is better);
* ``recency`` = ``1 / (1 + age / 45 d)``, age from ``updated_at``; ``channel`` = 1 when the fact
  was learned in the asking channel;
* ``score`` = ``0.50·semantic + 0.28·lexical + 0.10·confidence + 0.07·recency + 0.05·channel``
  (without a query vector, or for a candidate with no vector of the query's model — one not
  re-embedded yet after a switch of model: ``0.75·lexical + 0.10·confidence + 0.10·recency +
  0.05·channel``), times the temporal decay ``max(0.2, 2^(-age / 90 d))`` (guidance/behavioral:
  1).

The relevance gate keeps a candidate whose ``semantic ≥ min_semantic`` or ``coverage > 0``, and
whose score is at least ``min_score``. Then MMR (λ 0.7) picks ``limit`` facts, each time the
one maximising ``λ·score - (1-λ)·max similarity to those already picked`` (similarity: the
rescaled cosine of the two facts' vectors, else the Jaccard overlap of their words).

The weights and half-lives are the original system's; the gate's thresholds, the semantic floor
and the lexical blend are ours (the reference names a gate without numbers). Sans-IO.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from clanker.memory.model import DAY, EXEMPT_TYPES, Fact

_WORD = re.compile(r"\w+", re.UNICODE)
_STOP_TEXT = """
a an and are as at be but by do does did for from has have he her his how
i if in is it its me my of on or our she so that the their them they this
to was we were what when where which who why will with you your about any can did know like
"""
STOP_WORDS = frozenset(_STOP_TEXT.split())


@dataclass(frozen=True, slots=True)
class RankingWeights:
    """Every number of the ranking (see the module docstring)."""

    semantic: float = 0.50
    lexical: float = 0.28
    confidence: float = 0.10
    recency: float = 0.07
    channel: float = 0.05
    fallback_lexical: float = 0.75
    fallback_confidence: float = 0.10
    fallback_recency: float = 0.10
    fallback_channel: float = 0.05
    recency_half_life_days: float = 45.0
    decay_half_life_days: float = 90.0
    decay_floor: float = 0.2
    semantic_floor: float = 0.0
    min_semantic: float = 0.25
    min_score: float = 0.15
    mmr_lambda: float = 0.7


@dataclass(frozen=True, slots=True)
class Candidate:
    """A fact that might answer the query, with what the Store measured."""

    fact: Fact
    cosine: float | None = None  # query · fact vector; None: one of them has no vector
    bm25: float | None = None  # FTS5 bm25 (≤ 0, lower is better); None: not a lexical hit
    vector: tuple[float, ...] | None = None  # the fact's vector, for MMR


@dataclass(frozen=True, slots=True)
class Scored:
    """A candidate's score and its parts."""

    fact: Fact
    score: float
    semantic: float
    lexical: float
    coverage: float
    recency: float
    decay: float
    channel: float
    vector: tuple[float, ...] | None = None


def content_words(text: str) -> frozenset[str]:
    """Lower-cased words of two or more characters, stop words left out."""
    return frozenset(
        w for w in _WORD.findall(text.casefold()) if len(w) > 1 and w not in STOP_WORDS
    )


def rescale(cosine: float, floor: float) -> float:
    """``cosine`` mapped from ``[floor, 1]`` onto ``[0, 1]``, clamped."""
    if floor >= 1.0:
        return 0.0
    return min(1.0, max(0.0, (cosine - floor) / (1.0 - floor)))


def recency(age_seconds: float, half_life_days: float) -> float:
    """``1 / (1 + age / half_life)``."""
    return 1.0 / (1.0 + max(0.0, age_seconds) / DAY / half_life_days)


def temporal_decay(fact: Fact, now: float, w: RankingWeights) -> float:
    """``max(floor, 2^(-age / half_life))``; 1 for guidance and behavioural facts."""
    if fact.fact_type in EXEMPT_TYPES:
        return 1.0
    age_days = max(0.0, now - fact.updated_at) / DAY
    return max(w.decay_floor, math.exp(-math.log(2) * age_days / w.decay_half_life_days))


def score_candidates(
    candidates: Sequence[Candidate],
    query: str,
    *,
    now: float,
    channel_id: int | None,
    has_query_vector: bool,
    weights: RankingWeights = RankingWeights(),
) -> list[Scored]:
    """Score every candidate (no gate, no re-rank), in the order given."""
    w = weights
    words = content_words(query)
    best_bm25 = max((-c.bm25 for c in candidates if c.bm25 is not None), default=0.0)
    out: list[Scored] = []
    for c in candidates:
        f = c.fact
        semantic = 0.0 if c.cosine is None else rescale(c.cosine, w.semantic_floor)
        found = content_words(f"{f.fact} {f.subject} {f.evidence_text}")
        coverage = len(words & found) / len(words) if words else 0.0
        bm25_rel = (-c.bm25 / best_bm25) if c.bm25 is not None and best_bm25 > 0 else 0.0
        lexical = 0.6 * coverage + 0.4 * bm25_rel
        rec = recency(now - f.updated_at, w.recency_half_life_days)
        chan = 1.0 if channel_id is not None and f.channel_id == channel_id else 0.0
        # A candidate without a vector of the query's model (stored while the embedder was
        # busy, or not re-embedded yet after a switch of model) is scored as if there were no
        # query vector, rather than with a semantic part of 0.
        if has_query_vector and c.cosine is not None:
            base = (
                w.semantic * semantic
                + w.lexical * lexical
                + w.confidence * f.confidence
                + w.recency * rec
                + w.channel * chan
            )
        else:
            base = (
                w.fallback_lexical * lexical
                + w.fallback_confidence * f.confidence
                + w.fallback_recency * rec
                + w.fallback_channel * chan
            )
        decay = temporal_decay(f, now, w)
        out.append(
            Scored(
                fact=f,
                score=base * decay,
                semantic=semantic,
                lexical=lexical,
                coverage=coverage,
                recency=rec,
                decay=decay,
                channel=chan,
                vector=c.vector,
            )
        )
    return out


def passes_gate(s: Scored, weights: RankingWeights = RankingWeights()) -> bool:
    """Relevant enough to show: semantically close or sharing a word, and scoring enough
    before the temporal decay (the gate judges relevance; age only orders what passes, so an
    old fact that answers the question is still recalled)."""
    relevant = s.semantic >= weights.min_semantic or s.coverage > 0
    undecayed = s.score / s.decay if s.decay > 0 else s.score
    return relevant and undecayed >= weights.min_score


def similarity(a: Scored, b: Scored, floor: float) -> float:
    """How alike two facts are: rescaled cosine of their vectors, else word Jaccard."""
    if a.vector is not None and b.vector is not None and len(a.vector) == len(b.vector):
        dot = sum(x * y for x, y in zip(a.vector, b.vector, strict=True))
        na = math.sqrt(sum(x * x for x in a.vector))
        nb = math.sqrt(sum(y * y for y in b.vector))
        return 0.0 if na == 0 or nb == 0 else rescale(dot / (na * nb), floor)
    wa = content_words(a.fact.fact)
    wb = content_words(b.fact.fact)
    union = wa | wb
    return len(wa & wb) / len(union) if union else 0.0


def mmr(
    scored: Sequence[Scored],
    limit: int,
    weights: RankingWeights = RankingWeights(),
) -> list[Scored]:
    """Maximal marginal relevance: ``limit`` facts, relevant and not repeating each other.
    Ties go to the earlier candidate. Each candidate's highest similarity to those picked is
    kept up to date (one matrix product per pick), so this is O(picks x candidates)."""
    lam = weights.mmr_lambda
    pool = list(scored)
    n = len(pool)
    if n == 0 or limit <= 0:
        return []
    dims = {len(s.vector) for s in pool if s.vector is not None}
    width = dims.pop() if len(dims) == 1 else 0
    has_vec = np.array([s.vector is not None and len(s.vector) == width for s in pool])
    unit = np.zeros((n, max(width, 1)))
    if width:
        for i, s in enumerate(pool):
            if has_vec[i]:
                unit[i] = s.vector
        norms = np.linalg.norm(unit, axis=1)
        unit = np.divide(unit, norms[:, None], out=np.zeros_like(unit), where=norms[:, None] > 0)
    floor = weights.semantic_floor
    scores = np.array([s.score for s in pool])
    redundancy = np.zeros(n)
    taken = np.zeros(n, dtype=bool)
    picked: list[int] = []
    while len(picked) < min(limit, n):
        value = np.where(taken, -np.inf, lam * scores - (1 - lam) * redundancy)
        best = int(np.argmax(value))  # the first maximum: ties go to the earlier candidate
        picked.append(best)
        taken[best] = True
        if has_vec[best]:
            cos = unit @ unit[best]
            span = 1.0 - floor
            vec_sim = np.clip((cos - floor) / span, 0.0, 1.0) if span > 0 else np.zeros(n)
        else:
            vec_sim = np.zeros(n)
        for i in range(n):
            if taken[i]:
                continue
            sim = (
                float(vec_sim[i])
                if has_vec[i] and has_vec[best]
                else similarity(pool[i], pool[best], floor)
            )
            if sim > redundancy[i]:
                redundancy[i] = sim
    return [pool[i] for i in picked]


def rank(
    candidates: Sequence[Candidate],
    query: str,
    *,
    now: float,
    channel_id: int | None,
    has_query_vector: bool,
    limit: int = 10,
    weights: RankingWeights = RankingWeights(),
) -> list[Scored]:
    """Score, gate, order by score (ties: newer, then higher id) and MMR-pick ``limit``."""
    scored = score_candidates(
        candidates,
        query,
        now=now,
        channel_id=channel_id,
        has_query_vector=has_query_vector,
        weights=weights,
    )
    kept = [s for s in scored if passes_gate(s, weights)]
    kept.sort(key=lambda s: (-s.score, -s.fact.updated_at, -s.fact.id))
    return mmr(kept, limit, weights)


def candidate_pool(limit: int) -> int:
    """Candidates each source (KNN, FTS5) fetches for ``limit`` results: 6 each, at most 90."""
    return min(90, max(1, limit) * 6)


RECENT_CANDIDATES = 24
"""How many of the owner's most recently updated facts join the candidates."""
