// The decision trail of each incoming message (or burst), rebuilt from clanker's action log.
//
// What the text pipeline logs (docs/text-pipeline.md, docs/llm.md):
//   reply_decision  message_id = the message decided on; content "admitted: addressed";
//                   metadata {decision, reason, job_id?, message_ids?} (a job's batch)
//   llm_call        message_id = the job's trigger; metadata {provider, model, usage{input_tokens,
//                   output_tokens, …}, latency (s), outcome, error}; usd_cost
//   sent_reply / sent_message   message_id = the bot's new message; metadata {job_id,
//                   trigger_message_id, message_ids, chunk, chunks}
//   reaction_added / reaction_failed   message_id = the message reacted to; content = the emoji
//   send_failed, stop_acknowledged, …   message_id = the trigger / the stop request
// Actions are grouped by the incoming messages they are about: every message id an action names
// (its own for decisions and calls, the trigger and batch for sends) joins one trail, so a burst
// answered by one job is one trail. Actions about no message stand alone.

import type { Action } from "../api/types";

export interface LlmCall {
  actionId: number;
  provider: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
  usdCost: number;
  latencyMs: number | null;
  outcome: string;
  error: string | null;
}

export interface DecisionStep {
  actionId: number;
  verdict: string;
  reason: string;
  messageId: string | null;
}

export interface Trail {
  key: string;
  messageIds: string[]; // the incoming messages, oldest first
  guildId: string | null;
  channelId: string | null;
  decisions: DecisionStep[];
  llmCalls: LlmCall[];
  sent: { actionId: number; content: string; messageId: string | null }[];
  reactions: { actionId: number; emoji: string; ok: boolean }[];
  others: Action[];
  firstAt: string;
  lastId: number;
  totalCost: number;
}

/** What a trail is about, as the Store or the chat panel knows it. */
export interface KnownMessage {
  author: string;
  content: string;
}

const str = (value: unknown): string | null => (typeof value === "string" ? value : null);
const num = (value: unknown): number | null => (typeof value === "number" && isFinite(value) ? value : null);
const strs = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : []);
const SENT_KINDS = new Set(["sent_reply", "sent_message"]);
const REACTION_KINDS = new Set(["reaction_added", "reaction_failed"]);

/** The incoming message ids an action is about. */
export function aboutIds(action: Action): string[] {
  const meta = action.metadata ?? {};
  const ids = [...strs(meta.message_ids)];
  const trigger = str(meta.trigger_message_id);
  if (trigger) ids.push(trigger);
  // A sent message's own id is the bot's new message, not what it answers.
  if (action.message_id && !SENT_KINDS.has(action.kind)) ids.push(action.message_id);
  return ids;
}

function compareIds(a: string, b: string): number {
  // Snowflakes grow with time; compare as big integers.
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

class UnionFind {
  private parent = new Map<string, string>();
  find(x: string): string {
    let root = this.parent.get(x) ?? x;
    if (root !== x) {
      root = this.find(root);
      this.parent.set(x, root);
    }
    return root;
  }
  union(a: string, b: string): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent.set(rb, ra);
  }
}

function latencyMs(meta: Record<string, unknown>): number | null {
  const seconds = num(meta.latency);
  if (seconds !== null) return Math.round(seconds * 1000);
  return num(meta.latency_ms);
}

function errorText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === "string") return value;
  if (typeof value === "object") {
    const e = value as Record<string, unknown>;
    return [str(e.kind), str(e.message)].filter(Boolean).join(": ") || JSON.stringify(value);
  }
  return String(value);
}

function llmCall(action: Action): LlmCall {
  const meta = action.metadata ?? {};
  const usage = (meta.usage && typeof meta.usage === "object" ? meta.usage : meta) as Record<string, unknown>;
  return {
    actionId: action.id,
    provider: str(meta.provider) || "?",
    model: str(meta.model) || "?",
    inputTokens: num(usage.input_tokens) ?? 0,
    outputTokens: num(usage.output_tokens) ?? 0,
    usdCost: action.usd_cost,
    latencyMs: latencyMs(meta),
    outcome: str(meta.outcome) ?? "ok",
    error: errorText(meta.error),
  };
}

function emptyTrail(key: string, action: Action): Trail {
  return {
    key,
    messageIds: [],
    guildId: action.guild_id,
    channelId: action.channel_id,
    decisions: [],
    llmCalls: [],
    sent: [],
    reactions: [],
    others: [],
    firstAt: action.created_at,
    lastId: action.id,
    totalCost: 0,
  };
}

function add(trail: Trail, action: Action): void {
  const meta = action.metadata ?? {};
  trail.lastId = Math.max(trail.lastId, action.id);
  if (action.created_at < trail.firstAt) trail.firstAt = action.created_at;
  trail.guildId = trail.guildId ?? action.guild_id;
  trail.channelId = trail.channelId ?? action.channel_id;
  trail.totalCost += action.usd_cost;
  if (action.kind === "reply_decision") {
    const [verdict, reason] = action.content.split(": ", 2);
    trail.decisions.push({
      actionId: action.id,
      verdict: str(meta.decision) ?? verdict ?? "unknown",
      reason: str(meta.reason) ?? reason ?? "",
      messageId: action.message_id,
    });
  } else if (action.kind === "llm_call") {
    trail.llmCalls.push(llmCall(action));
  } else if (SENT_KINDS.has(action.kind)) {
    trail.sent.push({ actionId: action.id, content: action.content, messageId: action.message_id });
  } else if (REACTION_KINDS.has(action.kind)) {
    trail.reactions.push({ actionId: action.id, emoji: action.content, ok: action.kind === "reaction_added" });
  } else {
    trail.others.push(action);
  }
}

/** Trails, most recently active first. `actions` may be in any order and contain duplicates. */
export function buildTrails(actions: Action[]): Trail[] {
  const byId = new Map<number, Action>();
  for (const action of actions) byId.set(action.id, action);
  const ordered = [...byId.values()].sort((a, b) => a.id - b.id);
  const groups = new UnionFind();
  for (const action of ordered) {
    const ids = aboutIds(action);
    for (const id of ids.slice(1)) groups.union(ids[0], id);
  }
  const trails = new Map<string, Trail>();
  for (const action of ordered) {
    const ids = aboutIds(action);
    const key = ids.length ? `m${groups.find(ids[0])}` : `a${action.id}`;
    let trail = trails.get(key);
    if (!trail) {
      trail = emptyTrail(key, action);
      trails.set(key, trail);
    }
    for (const id of ids) if (!trail.messageIds.includes(id)) trail.messageIds.push(id);
    add(trail, action);
  }
  for (const trail of trails.values()) trail.messageIds.sort(compareIds);
  return [...trails.values()].sort((a, b) => b.lastId - a.lastId);
}

/** The verdict a trail ended with: the last decision (sent, skipped, failed …). */
export function finalVerdict(trail: Trail): string | null {
  return trail.decisions.length ? trail.decisions[trail.decisions.length - 1].verdict : null;
}

/** Merge fresh actions into a list (by id), newest first, keeping at most `limit`. */
export function mergeActions(current: Action[], fresh: Action[], limit: number): Action[] {
  const byId = new Map<number, Action>();
  for (const action of current) byId.set(action.id, action);
  for (const action of fresh) byId.set(action.id, action);
  return [...byId.values()].sort((a, b) => b.id - a.id).slice(0, limit);
}

export function formatUsd(value: number): string {
  if (value === 0) return "$0";
  if (value < 0.01) return `$${value.toFixed(5)}`;
  return `$${value.toFixed(value < 10 ? 3 : 2)}`;
}
