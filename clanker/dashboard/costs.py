"""Cost and usage summaries from the Store's `ActionTotals` groups. No I/O.

LLM usage is every ``llm_call`` group, and any other kind whose metadata names the ``model`` it
paid for (a cost above zero): a ``sent_message`` that names the model that wrote it is not
another call. Action counts cover every kind.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from clanker.dashboard.shapes import CostSummary, DayCost, KindCount, ModelCost
from clanker.store import ActionTotalsRow

MAX_DAYS = 366


def window_days(today: date, days: int) -> list[str]:
    """The ``days`` UTC dates ending with ``today``, oldest first, as ``YYYY-MM-DD``."""
    return [(today - timedelta(days=n)).isoformat() for n in range(days - 1, -1, -1)]


def summarize(rows: list[ActionTotalsRow], *, today: date, days: int) -> CostSummary:
    """Per-day totals (every day of the window, zero days included), per-model totals (most
    expensive first) and per-kind counts (most frequent first)."""
    calendar = window_days(today, days)
    per_day: dict[str, dict[tuple[str, str], list[float]]] = defaultdict(dict)
    per_model: dict[tuple[str, str], list[float]] = {}
    per_kind: dict[str, list[float]] = {}
    for row in rows:
        if row.day not in calendar:
            continue
        kind = per_kind.setdefault(row.kind, [0, 0.0])
        kind[0] += row.count
        kind[1] += row.usd_cost
        if row.model is None or (row.kind != "llm_call" and row.usd_cost <= 0):
            continue
        key = (row.provider or "unknown", row.model)
        for bucket in (
            per_day[row.day].setdefault(key, [0, 0.0, 0, 0]),
            per_model.setdefault(key, [0, 0.0, 0, 0]),
        ):
            bucket[0] += row.count
            bucket[1] += row.usd_cost
            bucket[2] += row.input_tokens
            bucket[3] += row.output_tokens

    def model_cost(key: tuple[str, str], v: list[float]) -> ModelCost:
        return ModelCost(
            provider=key[0],
            model=key[1],
            calls=int(v[0]),
            usd_cost=round(v[1], 6),
            input_tokens=int(v[2]),
            output_tokens=int(v[3]),
        )

    day_costs = []
    for day in calendar:
        models = sorted(
            (model_cost(k, v) for k, v in per_day.get(day, {}).items()),
            key=lambda m: (-m.usd_cost, m.provider, m.model),
        )
        day_costs.append(
            DayCost(
                day=day,
                usd_cost=round(float(sum(m.usd_cost for m in models)), 6),
                calls=sum(m.calls for m in models),
                input_tokens=sum(m.input_tokens for m in models),
                output_tokens=sum(m.output_tokens for m in models),
                models=models,
            )
        )
    models = sorted(
        (model_cost(k, v) for k, v in per_model.items()),
        key=lambda m: (-m.usd_cost, m.provider, m.model),
    )
    kinds = sorted(
        (KindCount(kind=k, count=int(v[0]), usd_cost=round(v[1], 6)) for k, v in per_kind.items()),
        key=lambda k: (-k.count, k.kind),
    )
    return CostSummary(
        since=calendar[0],
        days=day_costs,
        models=models,
        kinds=kinds,
        total_usd=round(float(sum(k.usd_cost for k in kinds)), 6),
    )
