// Costs: LLM spend per day (stacked by model) for the last N days, totals per model, and how
// many actions of each kind were logged.

import { useEffect, useMemo, useState } from "react";
import { api } from "../api/client";
import type { CostSummary } from "../api/types";
import { formatUsd } from "../activity/trails";

const PALETTE = ["#6c8cff", "#f29e4c", "#4cc38a", "#e5689b", "#b18cff", "#3fc1d0", "#d9c64a", "#9aa3b5"];

function BarChart({ summary, colors }: { summary: CostSummary; colors: Map<string, string> }) {
  const width = 760;
  const height = 240;
  const pad = { left: 56, right: 12, top: 12, bottom: 34 };
  const max = Math.max(0.000001, ...summary.days.map((d) => d.usd_cost));
  const innerW = width - pad.left - pad.right;
  const innerH = height - pad.top - pad.bottom;
  const slot = innerW / Math.max(1, summary.days.length);
  const barW = Math.max(4, slot * 0.7);
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * max);
  return (
    <svg className="chart" viewBox={`0 0 ${width} ${height}`} role="img" aria-label="cost per day by model" data-testid="cost-chart">
      {ticks.map((t) => {
        const y = pad.top + innerH - (t / max) * innerH;
        return (
          <g key={t}>
            <line x1={pad.left} x2={width - pad.right} y1={y} y2={y} className="grid" />
            <text x={pad.left - 6} y={y + 4} textAnchor="end" className="axis">
              {formatUsd(t)}
            </text>
          </g>
        );
      })}
      {summary.days.map((day, i) => {
        const x = pad.left + i * slot + (slot - barW) / 2;
        let y = pad.top + innerH;
        return (
          <g key={day.day} data-testid="cost-day">
            {[...day.models].reverse().map((m) => {
              const h = (m.usd_cost / max) * innerH;
              y -= h;
              return (
                <rect key={`${m.provider}/${m.model}`} x={x} y={y} width={barW} height={Math.max(0, h)} fill={colors.get(`${m.provider}/${m.model}`)}>
                  <title>{`${day.day} · ${m.provider}/${m.model}: ${formatUsd(m.usd_cost)} (${m.calls} calls)`}</title>
                </rect>
              );
            })}
            <text x={x + barW / 2} y={height - pad.bottom + 16} textAnchor="middle" className="axis">
              {day.day.slice(5)}
            </text>
          </g>
        );
      })}
    </svg>
  );
}

export function CostsView() {
  const [days, setDays] = useState(14);
  const [summary, setSummary] = useState<CostSummary | null>(null);
  const [error, setError] = useState("");
  useEffect(() => {
    api
      .get<CostSummary>(`/api/costs?days=${days}`)
      .then((s) => {
        setSummary(s);
        setError("");
      })
      .catch((e: Error) => setError(e.message));
  }, [days]);
  const colors = useMemo(() => {
    const map = new Map<string, string>();
    summary?.models.forEach((m, i) => map.set(`${m.provider}/${m.model}`, PALETTE[i % PALETTE.length]));
    return map;
  }, [summary]);

  return (
    <section className="panel costs" data-testid="costs-view">
      <header className="panel-head">
        <h2>Costs</h2>
        <label>
          last{" "}
          <select value={days} onChange={(e) => setDays(Number(e.target.value))}>
            {[7, 14, 30, 90].map((n) => (
              <option key={n} value={n}>
                {n} days
              </option>
            ))}
          </select>
        </label>
        {summary ? (
          <span className="total" data-testid="cost-total">
            {formatUsd(summary.total_usd)} since {summary.since}
          </span>
        ) : null}
      </header>
      {error ? <div className="banner warn">{error}</div> : null}
      {summary ? (
        <>
          <BarChart summary={summary} colors={colors} />
          <div className="legend">
            {summary.models.map((m) => (
              <span key={`${m.provider}/${m.model}`}>
                <i style={{ background: colors.get(`${m.provider}/${m.model}`) }} /> {m.provider}/{m.model}
              </span>
            ))}
          </div>
          <div className="columns">
            <table className="data" data-testid="cost-models">
              <thead>
                <tr>
                  <th>model</th>
                  <th>calls</th>
                  <th>tokens in</th>
                  <th>tokens out</th>
                  <th>cost</th>
                </tr>
              </thead>
              <tbody>
                {summary.models.map((m) => (
                  <tr key={`${m.provider}/${m.model}`}>
                    <td>
                      <i className="swatch" style={{ background: colors.get(`${m.provider}/${m.model}`) }} /> {m.provider}/{m.model}
                    </td>
                    <td>{m.calls}</td>
                    <td>{m.input_tokens.toLocaleString()}</td>
                    <td>{m.output_tokens.toLocaleString()}</td>
                    <td>{formatUsd(m.usd_cost)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <table className="data" data-testid="cost-kinds">
              <thead>
                <tr>
                  <th>action kind</th>
                  <th>count</th>
                  <th>cost</th>
                </tr>
              </thead>
              <tbody>
                {summary.kinds.map((k) => (
                  <tr key={k.kind}>
                    <td>{k.kind}</td>
                    <td>{k.count}</td>
                    <td>{formatUsd(k.usd_cost)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      ) : null}
    </section>
  );
}
