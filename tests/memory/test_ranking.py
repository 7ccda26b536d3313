"""The recall ranking: exact hybrid scores, decay, the relevance gate and the MMR re-rank."""

from __future__ import annotations

import math

import pytest

from clanker.memory.model import DAY, Fact, Owner
from clanker.memory.ranking import (
    Candidate,
    RankingWeights,
    Scored,
    candidate_pool,
    content_words,
    mmr,
    passes_gate,
    rank,
    score_candidates,
    similarity,
)

NOW = 2_000_000_000.0
ALICE = Owner.user(42)
E5 = RankingWeights(semantic_floor=0.7)


def fact(
    id: int,
    text: str,
    *,
    confidence: float = 0.72,
    age_days: float = 0.0,
    kind: str = "preference",
    channel_id: int | None = None,
    owner: Owner = ALICE,
) -> Fact:
    at = NOW - age_days * DAY
    return Fact(
        id=id,
        owner=owner,
        subject=owner.default_subject(),
        fact=text,
        fact_type=kind,  # type: ignore[arg-type]
        confidence=confidence,
        created_at=at,
        updated_at=at,
        channel_id=channel_id,
    )


A = Candidate(
    fact(1, "likes chess openings", confidence=0.8, age_days=45, channel_id=5),
    cosine=0.85,
    bm25=-2.0,
)
B = Candidate(fact(2, "plays chess", confidence=0.5), bm25=-1.0)
C = Candidate(
    fact(
        3,
        "be kind to newcomers",
        confidence=1.0,
        age_days=900,
        kind="guidance",
        owner=Owner.guild(7),
    ),
    cosine=0.7,
)


def test_content_words_drop_stop_words_and_single_letters() -> None:
    assert content_words("What does Alice like? A chess-club, x 42") == {
        "alice",
        "chess",
        "club",
        "42",
    }


def test_hybrid_scores_are_exact() -> None:
    a, b, c = score_candidates(
        [A, B, C], "chess openings", now=NOW, channel_id=5, has_query_vector=True, weights=E5
    )
    # A: semantic (0.85-0.7)/0.3 = 0.5; lexical 0.6·1 + 0.4·(2/2) = 1; recency 1/(1+45/45)
    # = 0.5; channel 1; base 0.25 + 0.28 + 0.08 + 0.035 + 0.05 = 0.695; decay 2^(-45/90)
    assert a.semantic == pytest.approx(0.5)
    assert (a.lexical, a.coverage, a.recency, a.channel) == (1.0, 1.0, 0.5, 1.0)
    assert a.decay == pytest.approx(2**-0.5)
    assert a.score == pytest.approx(0.695 * 2**-0.5, abs=1e-12)
    # B: no vector of the query's model, so the no-vector weights; coverage 1/2, bm25 1/2 of
    # the best: lexical 0.3 + 0.2 = 0.5; new, other channel: 0.75·0.5 + 0.10·0.5 + 0.10·1
    assert b.lexical == pytest.approx(0.5)
    assert (b.semantic, b.coverage, b.recency, b.channel, b.decay) == (0.0, 0.5, 1.0, 0.0, 1.0)
    assert b.score == pytest.approx(0.525, abs=1e-12)
    # C: guidance never decays, however old: 0.10·1 + 0.07/(1 + 900/45)
    assert c.decay == 1.0
    assert c.score == pytest.approx(0.1 + 0.07 / 21, abs=1e-12)


def test_a_fact_without_a_vector_of_the_query_model_gets_the_no_vector_weights() -> None:
    # Mid re-embedding after a switch of model, one fact has the new model's vector and its
    # twin not yet: the twin is scored on what it has (words, confidence, recency), with the
    # weights used when there is no query vector, not with a semantic part of 0.
    embedded = Candidate(fact(8, "chess"), cosine=1.0, bm25=-1.0)
    waiting = Candidate(fact(9, "chess"), bm25=-1.0)
    e, w = score_candidates(
        [embedded, waiting], "chess", now=NOW, channel_id=None, has_query_vector=True
    )
    # 0.50·1 + 0.28·1 + 0.10·0.72 + 0.07·1 and 0.75·1 + 0.10·0.72 + 0.10·1
    assert e.score == pytest.approx(0.922, abs=1e-12)
    assert w.score == pytest.approx(0.922, abs=1e-12)
    assert passes_gate(w) and w.semantic == 0.0


def test_without_a_query_vector_the_fallback_weights_apply() -> None:
    (a,) = score_candidates(
        [A], "chess openings", now=NOW, channel_id=5, has_query_vector=False, weights=E5
    )
    # 0.75·1 + 0.10·0.8 + 0.10·0.5 + 0.05·1 = 0.93, decayed
    assert a.score == pytest.approx(0.93 * 2**-0.5, abs=1e-12)


def test_temporal_decay_stops_at_its_floor() -> None:
    old = Candidate(fact(4, "chess", confidence=1.0, age_days=900))
    (s,) = score_candidates([old], "chess", now=NOW, channel_id=None, has_query_vector=False)
    assert s.decay == 0.2
    # 0.75·(0.6·1 + 0.4·0) + 0.1·1 + 0.1/(1 + 20)
    assert s.score == pytest.approx((0.45 + 0.1 + 0.1 / 21) * 0.2, abs=1e-12)


def test_the_relevance_gate() -> None:
    a, b, c = score_candidates(
        [A, B, C], "chess openings", now=NOW, channel_id=5, has_query_vector=True, weights=E5
    )
    assert passes_gate(a, E5) and passes_gate(b, E5)
    assert not passes_gate(c, E5)  # no shared word, cosine at e5's floor
    close = Candidate(fact(5, "enjoys board games"), cosine=0.79)  # semantic 0.3
    (s,) = score_candidates(
        [close], "chess", now=NOW, channel_id=None, has_query_vector=True, weights=E5
    )
    # 0.5·0.3 + 0.1·0.72 + 0.07 = 0.292
    assert s.score == pytest.approx(0.292, abs=1e-12)
    assert passes_gate(s, E5)
    assert not passes_gate(s, RankingWeights(semantic_floor=0.7, min_semantic=0.31))
    assert not passes_gate(s, RankingWeights(semantic_floor=0.7, min_score=0.3))


def test_the_gate_judges_relevance_before_the_decay_and_age_only_orders() -> None:
    """A year-old fact that answers the question passes the gate (its score before the decay
    is what the gate reads); among those that pass, the newer one still ranks first."""
    old = Candidate(fact(6, "chess openings", age_days=365), cosine=0.79)
    new = Candidate(fact(7, "chess openings again", age_days=1), cosine=0.79)
    s_old, _ = score_candidates(
        [old, new], "chess", now=NOW, channel_id=None, has_query_vector=True, weights=E5
    )
    assert s_old.decay == 0.2 and s_old.score < E5.min_score  # decayed below the gate's score
    assert passes_gate(s_old, E5)
    ranked = rank([old, new], "chess", now=NOW, channel_id=None, has_query_vector=True, weights=E5)
    assert [r.fact.id for r in ranked] == [7, 6]


def scored(id: int, score: float, vector: tuple[float, ...] | None, text: str = "x") -> Scored:
    return Scored(
        fact=fact(id, text),
        score=score,
        semantic=0.0,
        lexical=0.0,
        coverage=0.0,
        recency=1.0,
        decay=1.0,
        channel=0.0,
        vector=vector,
    )


def test_mmr_prefers_a_different_fact_over_a_near_duplicate() -> None:
    s1 = scored(1, 0.9, (1.0, 0.0))
    s2 = scored(2, 0.85, (2.0, 0.0))  # same direction as s1
    s3 = scored(3, 0.6, (0.0, 1.0))
    # after s1: s2 = 0.7·0.85 - 0.3·1 = 0.295 < s3 = 0.7·0.6 - 0 = 0.42
    assert [s.fact.id for s in mmr([s1, s2, s3], 3)] == [1, 3, 2]
    assert [s.fact.id for s in mmr([s1, s2, s3], 3, RankingWeights(mmr_lambda=1.0))] == [1, 2, 3]
    assert [s.fact.id for s in mmr([s1, s2, s3], 1)] == [1]


def test_similarity_without_vectors_is_word_overlap() -> None:
    a = scored(1, 0.5, None, "likes green tea")
    b = scored(2, 0.5, (1.0,), "likes green apples")
    assert similarity(a, b, 0.0) == 0.5  # {likes, green} of {likes, green, tea, apples}
    assert similarity(scored(1, 0, (1.0, 1.0)), scored(2, 0, (1.0, 0.0)), 0.0) == pytest.approx(
        1 / math.sqrt(2)
    )
    assert similarity(scored(1, 0, (1.0, 0.0)), scored(2, 0, (0.0, 0.0)), 0.0) == 0.0


def test_rank_gates_orders_and_limits() -> None:
    out = rank(
        [C, B, A],
        "chess openings",
        now=NOW,
        channel_id=5,
        has_query_vector=True,
        limit=2,
        weights=E5,
    )
    # B (0.525, no vector: the no-vector weights) before the older, decayed A (0.491); C gated
    assert [s.fact.id for s in out] == [2, 1]
    assert rank([C], "chess", now=NOW, channel_id=5, has_query_vector=True, weights=E5) == []


def test_equal_scores_go_to_the_newer_fact() -> None:
    old = Candidate(fact(1, "chess", age_days=0.0))
    new = Candidate(fact(2, "chess", age_days=0.0))
    out = rank([old, new], "chess", now=NOW, channel_id=None, has_query_vector=False)
    assert [s.fact.id for s in out] == [2, 1]  # same time: the higher id first


def test_candidate_pool_is_six_per_result_capped_at_90() -> None:
    assert (candidate_pool(10), candidate_pool(20), candidate_pool(0)) == (60, 90, 6)


def test_mmr_without_vectors_uses_word_overlap() -> None:
    s1 = scored(1, 0.9, None, "likes green tea")
    s2 = scored(2, 0.85, None, "likes green tea lot")  # Jaccard with s1: 3/4
    s3 = scored(3, 0.6, (1.0, 0.0), "plays chess")
    # after s1: s2 = 0.7·0.85 - 0.3·0.75 = 0.37 < s3 = 0.42
    assert [s.fact.id for s in mmr([s1, s2, s3], 3)] == [1, 3, 2]
    assert mmr([], 3) == [] and mmr([s1], 0) == []
