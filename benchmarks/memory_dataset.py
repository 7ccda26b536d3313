"""Writes `benchmarks/data/memory_quality.json`: a synthetic server's remembered facts and
questions labelled with the fact that answers each (issue 15, item 7).

    .venv/bin/python benchmarks/memory_dataset.py [--seed 15] [--out PATH]

The server ("Otter Den", guild 7001) has 30 members. Each member gets one fact from each of six
hand-written pools — pets, jobs, games, places, preferences, relationships — plus four filler
facts (small habits, no question points at them) and, for eight members, a place they used to
live, archived by the current one (superseded, as the write policy does). The guild has 40 lore
facts and the bot 6 facts about itself. Every pool entry is written as

    fact | a question sharing a word with it | a paraphrase that shares none

and both questions are kept, so each fact is asked for twice. Whether a question really shares a
content word with its fact is computed (`clanker.memory.ranking.content_words`), not claimed:
that is its ``kind`` (``lexical`` / ``semantic``). A question starting with ``@`` in the pools is
asked by the fact's owner ("what's my hamster called?"); others by another member. Each question
carries the conversation's participants (8 members: the asker, the fact's owner and six others),
so recall searches exactly the owners a reply would (`clanker.memory.owners.reply_scope`).

Everything random (who gets which entry, fillers, dates over the year before ``now``, channels,
confidences, participants, whether a message starts with "clanker, ") comes from one seeded
`random.Random`: the same seed writes the same file. Nothing here was tuned against the ranker.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from clanker.memory.ranking import content_words  # noqa: E402

OUT = ROOT / "benchmarks" / "data" / "memory_quality.json"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
GUILD = 7001
CHANNELS = (7101, 7102, 7103, 7104)
FIRST_USER = 1001

POOL_FILE = ROOT / "benchmarks" / "data" / "memory_quality_pools.txt"


CATEGORIES = (  # pool section, and the fact type its facts get
    ("pets", "profile"),
    ("jobs", "profile"),
    ("games", "preference"),
    ("places", "profile"),
    ("preferences", "preference"),
    ("relationships", "relationship"),
)


def read_pools(path: Path = POOL_FILE) -> dict[str, list[str]]:
    """The pool file's sections: ``[name]`` headers, one entry a line, ``# `` comments."""
    pools: dict[str, list[str]] = {}
    current: list[str] | None = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("# "):  # a comment ("#art-corner" is a channel)
            continue
        if line.startswith("[") and line.endswith("]"):
            current = pools.setdefault(line[1:-1], [])
        elif current is None:
            raise ValueError(f"{path}: {line!r} comes before any [section]")
        else:
            current.append(line)
    return pools


def entries(lines: list[str]) -> list[tuple[str, str, str]]:
    """The ``fact | lexical question | semantic question`` lines of a pool."""
    out = []
    for line in lines:
        parts = [p.strip() for p in line.split("|")]
        if len(parts) != 3 or not all(parts):
            raise ValueError(f"a pool line needs 'fact | question | question', got {line!r}")
        out.append((parts[0], parts[1], parts[2]))
    return out


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def build(seed: int) -> dict[str, Any]:
    """The whole dataset, deterministic for ``seed``."""
    rng = random.Random(seed)
    pools = read_pools()
    names = pools["members"]
    members = [{"user_id": FIRST_USER + i, "name": n} for i, n in enumerate(names)]
    facts: list[dict[str, Any]] = []
    asks: list[tuple[str, str, int | None]] = []  # (fact id, question, owner user id or None)

    def add(owner: str, subject: str, text: str, fact_type: str, **extra: Any) -> str:
        fid = f"f{len(facts) + 1:04d}"
        age = timedelta(days=rng.uniform(0, 365), minutes=rng.randrange(1440))
        facts.append(
            {
                "id": fid,
                "owner": owner,
                "subject": subject,
                "fact": text,
                "type": fact_type,
                "confidence": rng.choice((0.6, 0.72, 0.72, 0.72, 0.72, 0.85, 0.9)),
                "created_at": iso(NOW - age),
                "channel_id": rng.choice(CHANNELS),
                "active": True,
                "supersedes": None,
                "category": extra.pop("category"),
            }
        )
        return fid

    for category, fact_type in CATEGORIES:
        chosen = entries(pools[category])
        rng.shuffle(chosen)
        for member, (fact, lexical, semantic) in zip(members, chosen, strict=False):
            uid = member["user_id"]
            fid = add(f"user:{uid}", str(uid), fact, fact_type, category=category)
            asks += [(fid, lexical, uid), (fid, semantic, uid)]
    for member in members:
        uid = member["user_id"]
        for text in rng.sample(pools["fillers"], 4):
            add(f"user:{uid}", str(uid), text, "other", category="filler")
    # eight members used to live elsewhere: that fact is older, archived, superseded
    places = {f["owner"]: f for f in facts if f["category"] == "places"}
    old_places = pools["old places"]
    for member, old in zip(rng.sample(members, len(old_places)), old_places, strict=True):
        owner = f"user:{member['user_id']}"
        fid = add(owner, str(member["user_id"]), old, "profile", category="old-place")
        facts[-1]["active"] = False
        current = places[owner]
        facts[-1]["created_at"] = min(facts[-1]["created_at"], current["created_at"])
        current["supersedes"] = fid
    for fact, lexical, semantic in entries(pools["lore"]):
        fid = add(f"guild:{GUILD}", "__lore__", fact, "other", category="lore")
        asks += [(fid, lexical, None), (fid, semantic, None)]
    for fact, lexical, semantic in entries(pools["self"]):
        fid = add("self", "__self__", fact, "other", category="self")
        asks += [(fid, lexical, None), (fid, semantic, None)]

    by_id = {f["id"]: f for f in facts}
    user_ids = [m["user_id"] for m in members]
    questions = []
    for fid, text, owner in asks:
        first_person = text.startswith("@")
        query = text.lstrip("@")
        if owner is not None and first_person:
            asker = owner
        else:
            asker = rng.choice([u for u in user_ids if u != owner])
        people = [asker] + ([owner] if owner is not None and owner != asker else [])
        others = [u for u in user_ids if u not in people]
        people += rng.sample(others, 8 - len(people))
        if not query.startswith("clanker") and rng.random() < 0.5:
            query = "clanker, " + query
        fact = by_id[fid]
        shared = content_words(query) & content_words(f"{fact['fact']} {fact['subject']}")
        questions.append(
            {
                "id": f"q{len(questions) + 1:04d}",
                "query": query,
                "asker": asker,
                "participants": people,
                "channel_id": rng.choice(CHANNELS),
                "answers": [fid],
                "kind": "lexical" if shared else "semantic",
                "first_person": first_person,
                "category": fact["category"],
            }
        )
    return {
        "about": "synthetic server history for the memory benchmark; see the generator",
        "generator": "benchmarks/memory_dataset.py",
        "seed": seed,
        "now": iso(NOW),
        "guild_id": GUILD,
        "members": members,
        "facts": facts,
        "questions": questions,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    data = build(args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    kinds = [q["kind"] for q in data["questions"]]
    print(
        f"{args.out}: {len(data['facts'])} facts, {len(kinds)} questions "
        f"({kinds.count('lexical')} lexical, {kinds.count('semantic')} semantic)"
    )


if __name__ == "__main__":
    main()
