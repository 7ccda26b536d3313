// The activity feed: for each incoming message its decision trail (admitted or skipped and why,
// the model call with tokens, cost and latency, what was sent), live from the action stream.

import { useCallback, useEffect, useMemo, useState } from "react";
import { api, query } from "../api/client";
import type { Action, ActionPage, GuildView } from "../api/types";
import { useEventStream } from "../api/useEventStream";
import { type Trail, buildTrails, formatUsd, mergeActions } from "../activity/trails";

const KEEP = 400;

/** Time of day for today, date and time before. */
export function when(iso: string): string {
  const at = new Date(iso);
  const today = new Date().toDateString() === at.toDateString();
  return today ? at.toLocaleTimeString() : at.toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

export function TrailCard({ trail, channelName }: { trail: Trail; channelName?: string }) {
  if (!trail.messageId) {
    // An action about no particular message: one line.
    const call = trail.llmCalls[0];
    const action = trail.others[0];
    const summary = call
      ? `${call.provider}/${call.model} · ${call.inputTokens} in / ${call.outputTokens} out tokens${call.latencyMs !== null ? ` · ${call.latencyMs} ms` : ""}`
      : action?.content ?? trail.sent[0]?.content ?? "";
    return (
      <li className="trail plain" data-testid="trail">
        <span className="kind-tag">{call ? "llm_call" : action?.kind ?? "action"}</span> {summary}
        {trail.totalCost ? <span className="cost">{formatUsd(trail.totalCost)}</span> : null}
        <time>{when(trail.firstAt)}</time>
      </li>
    );
  }
  const verdict = trail.decision?.verdict;
  return (
    <li className={`trail ${verdict ?? ""}`} data-testid="trail" data-message-id={trail.messageId ?? ""}>
      <div className="trail-head">
        <span className="who">{trail.author ?? "someone"}</span>
        {channelName ? <span className="muted">in #{channelName}</span> : null}
        <time>{when(trail.firstAt)}</time>
        {trail.totalCost ? <span className="cost">{formatUsd(trail.totalCost)}</span> : null}
      </div>
      {trail.incoming ? <blockquote className="incoming">{trail.incoming}</blockquote> : null}
      <ol className="steps">
        {trail.decision ? (
          <li className="step decision" data-testid="trail-decision">
            <span className={`badge ${verdict}`}>{verdict}</span> {trail.decision.reason}
          </li>
        ) : null}
        {trail.llmCalls.map((call) => (
          <li className="step llm" key={call.actionId} data-testid="trail-llm">
            <span className="badge llm">model</span> {call.provider}/{call.model} · {call.inputTokens} in / {call.outputTokens} out
            tokens · {formatUsd(call.usdCost)}
            {call.latencyMs !== null ? ` · ${call.latencyMs} ms` : ""}
          </li>
        ))}
        {trail.sent.map((sent, i) => (
          <li className="step sent" key={i} data-testid="trail-sent">
            <span className="badge sent">sent</span> {sent.content}
          </li>
        ))}
        {trail.others.map((action) => (
          <li className="step other" key={action.id}>
            <span className="badge">{action.kind}</span> {action.content}
          </li>
        ))}
      </ol>
    </li>
  );
}

/** Recent actions plus the live stream, merged by id; refetches when the stream says it dropped. */
export function useLiveActions(filters: { kind?: string; guild_id?: string; channel_id?: string }) {
  const [actions, setActions] = useState<Action[]>([]);
  const [error, setError] = useState("");
  const qs = query({ ...filters });
  const pageUrl = `/api/actions${query({ ...filters, limit: 200 })}`;
  const refetch = useCallback(async () => {
    try {
      const page = await api.get<ActionPage>(pageUrl);
      setActions((current) => mergeActions(current, page.actions, KEEP));
      setError("");
    } catch (e) {
      setError((e as Error).message);
    }
  }, [pageUrl]);
  useEffect(() => {
    setActions([]);
    void refetch();
  }, [refetch]);
  const state = useEventStream(`/api/actions/stream${qs}`, {
    action: (data) => setActions((current) => mergeActions(current, [data as Action], KEEP)),
    dropped: () => void refetch(),
  });
  return { actions, state, error };
}

export function ActivityView() {
  const [guilds, setGuilds] = useState<GuildView[]>([]);
  const [kind, setKind] = useState("");
  const [channel, setChannel] = useState("");
  useEffect(() => {
    api.get<GuildView[]>("/api/guilds").then(setGuilds).catch(() => setGuilds([]));
  }, []);
  const channelNames = useMemo(() => {
    const names = new Map<string, string>();
    guilds.forEach((g) => g.channels.forEach((c) => names.set(c.id, c.name)));
    return names;
  }, [guilds]);
  const { actions, state, error } = useLiveActions({ kind: kind || undefined, channel_id: channel || undefined });
  const trails = useMemo(() => buildTrails(actions), [actions]);
  const kinds = useMemo(() => [...new Set(actions.map((a) => a.kind))].sort(), [actions]);

  return (
    <section className="panel activity" data-testid="activity-view">
      <header className="panel-head">
        <h2>Activity</h2>
        <span className={`stream ${state}`}>{state === "open" ? "live" : state}</span>
        <label>
          kind{" "}
          <select value={kind} onChange={(e) => setKind(e.target.value)} data-testid="filter-kind">
            <option value="">all</option>
            {[...new Set([...kinds, kind].filter(Boolean))].map((k) => (
              <option key={k}>{k}</option>
            ))}
          </select>
        </label>
        <label>
          channel{" "}
          <select value={channel} onChange={(e) => setChannel(e.target.value)}>
            <option value="">all</option>
            {guilds.flatMap((g) =>
              g.channels.filter((c) => c.kind === "text").map((c) => (
                <option key={c.id} value={c.id}>
                  {g.name} #{c.name}
                </option>
              )),
            )}
          </select>
        </label>
      </header>
      {error ? <div className="banner warn">{error}</div> : null}
      {trails.length === 0 ? <p className="muted">No activity yet.</p> : null}
      <ul className="trails">
        {trails.map((trail) => (
          <TrailCard key={trail.key} trail={trail} channelName={trail.channelId ? channelNames.get(trail.channelId) : undefined} />
        ))}
      </ul>
    </section>
  );
}
