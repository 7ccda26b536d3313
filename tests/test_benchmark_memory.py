"""`benchmarks/memory_quality.py` and its labelled set: the metrics on hand examples (exact
numbers), the pipeline on a three-fact store with hand-made vectors, and the dataset file
(well-formed, and exactly what its seeded generator writes). Nothing here runs the benchmark."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from clanker.memory.ranking import RankingWeights, content_words
from clanker.store import open_store
from clanker.store.sqlite import close_connection

ROOT = Path(__file__).resolve().parent.parent


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


mq = _load("memory_quality")
dataset = _load("memory_dataset")


def test_recall_at_5_and_mrr_on_a_hand_example() -> None:
    runs = [
        (["a", "b", "c", "d", "e", "f"], ["c"]),  # found third
        (["x", "y"], ["z"]),  # not returned
        (["p", "q", "r", "s", "t", "u"], ["u", "p"]),  # one of two in the top 5, first at rank 1
        (["m", "n", "o", "k", "l", "w"], ["w"]),  # returned sixth: outside the top 5
    ]
    assert [mq.recall_at(r, a) for r, a in runs] == [1.0, 0.0, 0.5, 0.0]
    assert [mq.reciprocal_rank(r, a) for r, a in runs] == [1 / 3, 0.0, 1.0, 1 / 6]
    assert mq.scores(runs) == {
        "recall_at_5": pytest.approx(1.5 / 4),
        "mrr": pytest.approx((1 / 3 + 1 + 1 / 6) / 4),
    }
    assert mq.recall_at(["a", "b"], ["b"], k=1) == 0.0
    with pytest.raises(ValueError, match="at least one answer"):
        mq.recall_at(["a"], [])
    with pytest.raises(ValueError, match="no questions"):
        mq.scores([])


def axis(i: int) -> tuple[float, ...]:
    return tuple(1.0 if j == i else 0.0 for j in range(384))


def mix(i: int, j: int) -> tuple[float, ...]:
    return tuple(0.8 if k == i else 0.6 if k == j else 0.0 for k in range(384))


def test_the_three_configurations_on_a_three_fact_store(tmp_path: Path) -> None:
    def fact(fid: str, owner: str, text: str) -> dict[str, Any]:
        return {
            "id": fid,
            "owner": owner,
            "subject": owner[5:] if owner.startswith("user:") else "__lore__",
            "fact": text,
            "type": "other",
            "confidence": 0.72,
            "created_at": "2026-11-30T12:00:00.000+00:00",
            "channel_id": 5,
            "active": True,
            "supersedes": None,
        }

    data = {
        "now": "2026-12-01T12:00:00.000+00:00",
        "guild_id": 7,
        "facts": [
            fact("f1", "user:1", "has a ginger cat called Biscuit"),
            fact("f2", "user:2", "drinks oolong tea"),
            fact("f3", "guild:7", "movie night is on Thursdays"),
        ],
        "questions": [
            # shares "cat" with f1; its vector points at f2 first, then f1
            {"query": "which cat?", "asker": 2, "participants": [2, 1], "channel_id": 5},
            # shares no word with anything; its vector is f3's
            {"query": "when do we watch films", "asker": 1, "participants": [1, 2]},
        ],
    }
    data["questions"][1]["channel_id"] = 5
    vectors = {"f1": axis(0), "f2": axis(1), "f3": axis(2)}
    queries = {"which cat?": mix(1, 0), "when do we watch films": axis(2)}
    conn = open_store(tmp_path / "q.db")
    try:
        ids = mq.store_facts(conn, data, vectors, "test/model")
        back = {v: k for k, v in ids.items()}
        now = mq._seconds(data["now"])
        weights = RankingWeights()
        got = {
            config: [
                mq.run_config(
                    config,
                    conn,
                    mq.question_recall(data, q),
                    queries[q["query"]],
                    "test/model",
                    now,
                    weights,
                    back,
                ).ranked
                for q in data["questions"]
            ]
            for config in mq.CONFIGS
        }
    finally:
        close_connection(conn)
    # vector: by cosine only (0.8 for f2, 0.6 for f1, 0 for f3 on the first question)
    assert got["vector"] == [["f2", "f1", "f3"], ["f3", "f1", "f2"]]
    # lexical: only the fact sharing a word passes the gate; the second question finds nothing
    assert got["lexical"] == [["f1"], []]
    runs = [(r, a) for r, a in zip(got["vector"], (["f1"], ["f3"]), strict=True)]
    assert mq.scores(runs) == {"recall_at_5": 1.0, "mrr": pytest.approx((1 / 2 + 1) / 2)}
    assert mq.scores(list(zip(got["lexical"], (["f1"], ["f3"]), strict=True))) == {
        "recall_at_5": 0.5,
        "mrr": 0.5,
    }
    # hybrid keeps the lexical hit first (it shares the word and is close enough)
    assert got["hybrid"][0][0] == "f1"


def test_the_dataset_is_well_formed() -> None:
    data = mq.load()
    facts = {f["id"]: f for f in data["facts"]}
    assert len(facts) == len(data["facts"])
    members = {m["user_id"] for m in data["members"]}
    assert len(data["questions"]) >= 200
    assert len({q["id"] for q in data["questions"]}) == len(data["questions"])
    for q in data["questions"]:
        assert q["answers"], q
        for fid in q["answers"]:
            f = facts[fid]  # every label names a fact of the set
            assert f["active"], f"{q['id']} is answered by an archived fact"
            if f["owner"].startswith("user:"):  # its owner is in the conversation
                assert int(f["owner"][5:]) in q["participants"], q
        assert len(set(q["participants"])) == 8 and q["asker"] in q["participants"]
        assert set(q["participants"]) <= members
        shared = content_words(q["query"]) & content_words(
            " ".join(f"{facts[a]['fact']} {facts[a]['subject']}" for a in q["answers"])
        )
        assert q["kind"] == ("lexical" if shared else "semantic"), q
    kinds = [q["kind"] for q in data["questions"]]
    assert min(kinds.count("lexical"), kinds.count("semantic")) >= 100
    for f in facts.values():
        assert f["supersedes"] is None or not facts[f["supersedes"]]["active"]


def test_the_dataset_file_is_what_its_seeded_generator_writes() -> None:
    assert dataset.build(mq.load()["seed"]) == mq.load()
