// The activity feed: for each incoming message (or burst) its decision trail — admitted or
// skipped and why, generation started, the model call with tokens, cost, latency and outcome,
// reactions, what was sent — live from the action stream.

import { type ReactNode, useCallback, useEffect, useMemo, useRef, useState } from "react";
import { api, query } from "../api/client";
import type { Action, ActionPage, GuildView, StoredMessage } from "../api/types";
import { useEventStream } from "../api/useEventStream";
import { type KnownMessage, type LlmCall, type Trail, buildTrails, finalVerdict, formatUsd, mergeActions } from "../activity/trails";

const KEEP = 400;

/** Time of day for today, date and time before. */
export function when(iso: string): string {
  const at = new Date(iso);
  const today = new Date().toDateString() === at.toDateString();
  return today ? at.toLocaleTimeString() : at.toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

const DECISION_HELP: Record<string, string> = {
  admitted: "reaches the model with the next batch",
  started: "generation started",
  sent: "the answer went out",
  skipped: "not answered",
  cancelled: "generation cancelled",
  retrying: "failed; queued again",
  failed: "failed for good",
};

function describeCall(call: LlmCall): string {
  const parts = [`${call.provider}/${call.model}`, `${call.inputTokens} in / ${call.outputTokens} out tokens`, formatUsd(call.usdCost)];
  if (call.latencyMs !== null) parts.push(`${call.latencyMs} ms`);
  if (call.outcome !== "ok") parts.push(call.outcome + (call.error ? ` (${call.error})` : ""));
  return parts.join(" · ");
}

export function TrailCard({ trail, channelName, known }: { trail: Trail; channelName?: string; known: Map<string, KnownMessage> }) {
  if (trail.messageIds.length === 0) {
    // An action about no particular message: one line.
    const call = trail.llmCalls[0];
    const action = trail.others[0];
    const summary = call ? describeCall(call) : action?.content ?? trail.sent[0]?.content ?? "";
    return (
      <li className="trail plain" data-testid="trail">
        <span className="kind-tag">{call ? "llm_call" : action?.kind ?? "action"}</span> {summary}
        {trail.totalCost ? <span className="cost">{formatUsd(trail.totalCost)}</span> : null}
        <time>{when(trail.firstAt)}</time>
      </li>
    );
  }
  const verdict = finalVerdict(trail);
  const incoming = trail.messageIds.map((id) => ({ id, message: known.get(id) }));
  const authors = [...new Set(incoming.map((m) => m.message?.author).filter(Boolean))];
  // Every step in the order it was logged.
  const steps: { id: number; node: ReactNode }[] = [
    ...trail.decisions.map((step) => ({
      id: step.actionId,
      node: (
        <li className="step decision" key={step.actionId} data-testid="trail-decision" title={DECISION_HELP[step.verdict] ?? ""}>
          <span className={`badge ${step.verdict}`}>{step.verdict}</span> {step.reason.replaceAll("_", " ")}
        </li>
      ),
    })),
    ...trail.llmCalls.map((call) => ({
      id: call.actionId,
      node: (
        <li className={`step llm ${call.outcome}`} key={call.actionId} data-testid="trail-llm">
          <span className="badge llm">model</span> {describeCall(call)}
        </li>
      ),
    })),
    ...trail.reactions.map((reaction) => ({
      id: reaction.actionId,
      node: (
        <li className="step reaction" key={reaction.actionId} data-testid="trail-reaction">
          <span className="badge">{reaction.ok ? "reacted" : "reaction failed"}</span> {reaction.emoji}
        </li>
      ),
    })),
    ...trail.sent.map((sent) => ({
      id: sent.actionId,
      node: (
        <li className="step sent" key={sent.actionId} data-testid="trail-sent">
          <span className="badge sent">message</span> {sent.content}
        </li>
      ),
    })),
    ...trail.others.map((action) => ({
      id: action.id,
      node: (
        <li className="step other" key={action.id} data-testid="trail-other">
          <span className="badge">{action.kind}</span> {action.content}
        </li>
      ),
    })),
  ];
  return (
    <li className={`trail ${verdict ?? ""}`} data-testid="trail" data-message-id={trail.messageIds[trail.messageIds.length - 1]}>
      <div className="trail-head">
        <span className="who">{authors.length ? authors.join(", ") : "someone"}</span>
        {channelName ? <span className="muted">in #{channelName}</span> : null}
        {trail.messageIds.length > 1 ? <span className="muted">{trail.messageIds.length} messages, one job</span> : null}
        <time>{when(trail.firstAt)}</time>
        {trail.totalCost ? <span className="cost">{formatUsd(trail.totalCost)}</span> : null}
      </div>
      {incoming.map(({ id, message }) => (
        <blockquote className="incoming" key={id} data-testid="trail-incoming">
          {message ? message.content : <span className="muted">message {id}</span>}
        </blockquote>
      ))}
      <ol className="steps">{steps.sort((a, b) => a.id - b.id).map((step) => step.node)}</ol>
    </li>
  );
}

/** The stored text of the messages trails are about, fetched in batches as new ids appear. */
export function useKnownMessages(trails: Trail[], extra?: Map<string, KnownMessage>): Map<string, KnownMessage> {
  const [fetched, setFetched] = useState<Map<string, KnownMessage>>(new Map());
  const asked = useRef<Set<string>>(new Set());
  const wanted = trails.flatMap((t) => t.messageIds).filter((id) => !extra?.has(id) && !asked.current.has(id));
  const key = wanted.join(",");
  useEffect(() => {
    const ids = key ? key.split(",").slice(0, 100) : [];
    if (!ids.length) return;
    ids.forEach((id) => asked.current.add(id));
    api
      .get<StoredMessage[]>(`/api/messages?ids=${ids.join(",")}`)
      .then((rows) =>
        setFetched((current) => {
          const next = new Map(current);
          rows.forEach((row) => next.set(row.id, { author: row.author_name, content: row.content }));
          return next;
        }),
      )
      .catch(() => ids.forEach((id) => asked.current.delete(id)));
  }, [key]);
  return useMemo(() => {
    if (!extra) return fetched;
    const merged = new Map(fetched);
    extra.forEach((value, id) => merged.set(id, value));
    return merged;
  }, [fetched, extra]);
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
  const known = useKnownMessages(trails);
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
          <TrailCard key={trail.key} trail={trail} known={known} channelName={trail.channelId ? channelNames.get(trail.channelId) : undefined} />
        ))}
      </ul>
    </section>
  );
}
