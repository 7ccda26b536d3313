// Reflection runs (GET /api/memory/reflections): each `memory_reflection` action the reflection
// feature logged, newest first — the server and channel (a channel's micro-reflection) or the
// day (a daily one), what triggered it, the window of messages read, how it ended (the error of
// a failed one, and what the run noted: facts kept out and why), the facts written, merged and
// refused, the model call's cost, and the facts it wrote (a click shows the fact in the list; a
// forgotten one is marked).

import { useCallback, useEffect, useState } from "react";
import { api, query } from "../api/client";
import type { MemoryReflections, ReflectionFact, ReflectionRun } from "../api/types";
import { ownerLabel, shortTime } from "./labels";
import { ReflectControls } from "./ReflectControls";

const OUTCOME_BADGE: Record<string, string> = { done: "running", empty: "", failed: "stopped" };

function readWindow(r: ReflectionRun): string {
  if (r.day) return r.parts_skipped ? `${r.day} (${r.parts} parts, ${r.parts_skipped} skipped)` : r.day;
  if (r.window_from || r.window_to) return `${shortTime(r.window_from)} → ${shortTime(r.window_to)}`;
  return "—";
}

function FactLink({ f, guildNames, onShow }: { f: ReflectionFact; guildNames: Map<string, string>; onShow: (id: number, owner: string) => void }) {
  if (f.owner === null) {
    return (
      <li className="muted" data-testid="reflection-fact" data-fact-id={f.id}>
        #{f.id} (forgotten since)
      </li>
    );
  }
  const owner = f.owner;
  return (
    <li data-testid="reflection-fact" data-fact-id={f.id}>
      <a
        href={`#memory-fact-${f.id}`}
        data-testid="reflection-fact-link"
        title={`show fact ${f.id} of ${ownerLabel(owner, guildNames)} in the list`}
        onClick={(e) => {
          e.preventDefault();
          onShow(f.id, owner);
        }}
      >
        #{f.id}
      </a>{" "}
      {f.fact} <span className="muted">({ownerLabel(owner, guildNames)}{f.active ? "" : ", archived"})</span>
    </li>
  );
}

export function ReflectionsPanel({
  guildNames,
  refresh,
  onShowFact,
}: {
  guildNames: Map<string, string>;
  refresh: number;
  onShowFact: (id: number, owner: string) => void;
}) {
  const [found, setFound] = useState<MemoryReflections | null>(null);
  const [error, setError] = useState("");
  const load = useCallback(async () => {
    try {
      setFound(await api.get<MemoryReflections>("/api/memory/reflections" + query({ limit: 50 })));
      setError("");
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  }, []);
  useEffect(() => {
    void load();
  }, [load, refresh]);

  const runs = found?.runs ?? [];
  return (
    <div className="memory-reflections" data-testid="memory-reflections">
      <div className="panel-head">
        <h3>Reflection runs</h3>
        <button className="secondary small" data-testid="reflections-reload" onClick={() => void load()}>
          Reload
        </button>
      </div>
      <ReflectControls guildNames={guildNames} onReflected={() => void load()} />
      {error ? <div className="banner warn">{error}</div> : null}
      {found && runs.length === 0 ? (
        <p className="muted" data-testid="reflections-none">
          No reflection runs logged yet.
        </p>
      ) : null}
      {runs.length > 0 ? (
        <table className="memory-reflection-runs">
          <thead>
            <tr>
              <th>when</th>
              <th>where</th>
              <th>run</th>
              <th>day or window</th>
              <th>outcome</th>
              <th>messages</th>
              <th>written / merged / refused</th>
              <th>cost</th>
              <th>facts written</th>
            </tr>
          </thead>
          <tbody>
            {runs.map((r) => (
              <tr key={r.id} data-testid="reflection-run" data-run-id={r.id}>
                <td className="muted">
                  <time title={r.at}>{shortTime(r.at)}</time>
                </td>
                <td data-testid="reflection-where">
                  {r.guild_id ? (r.guild_name ?? `server ${r.guild_id}`) : "—"}
                  {r.channel_id ? <div className="muted small-text">{r.channel_name ? `#${r.channel_name}` : `channel ${r.channel_id}`}</div> : null}
                </td>
                <td data-testid="reflection-run-kind">
                  {r.run ?? "?"}
                  {r.trigger ? <div className="muted small-text">{r.trigger}</div> : null}
                </td>
                <td data-testid="reflection-window">{readWindow(r)}</td>
                <td>
                  <span className={`badge ${OUTCOME_BADGE[r.outcome ?? ""] ?? ""}`} data-testid="reflection-outcome">
                    {r.outcome ?? "?"}
                  </span>
                  {r.error ? (
                    <div className="warn-text small-text" data-testid="reflection-error">
                      {r.error}
                    </div>
                  ) : null}
                  {r.metadata_problem ? <div className="warn-text small-text">{r.metadata_problem}</div> : null}
                  {r.problems.length ? (
                    <details className="small-text" data-testid="reflection-problems">
                      <summary>{r.problems.length} noted</summary>
                      <ul className="reflection-notes">
                        {r.problems.map((p, i) => (
                          <li key={i}>{p}</li>
                        ))}
                      </ul>
                    </details>
                  ) : null}
                </td>
                <td data-testid="reflection-messages">{r.messages}</td>
                <td data-testid="reflection-counts">
                  {r.written} / {r.merged} / {r.refused}
                </td>
                <td className="muted" data-testid="reflection-cost" title={r.model ?? ""}>
                  ${r.usd_cost.toFixed(4)}
                </td>
                <td>
                  {r.facts.length ? (
                    <ul className="reflection-facts">
                      {r.facts.map((f) => (
                        <FactLink key={f.id} f={f} guildNames={guildNames} onShow={onShowFact} />
                      ))}
                    </ul>
                  ) : (
                    <span className="muted">none</span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </div>
  );
}
