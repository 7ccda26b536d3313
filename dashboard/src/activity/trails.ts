// The decision trail of each incoming message, rebuilt from the action log.
//
// Convention (docs/dashboard-api.md, "Decision trails"): every action about one incoming message
// carries that message's id in `message_id`. `reply_admission` says admitted/skipped and why (its
// content is the message text), `llm_call` the model, tokens, cost and latency, `sent_reply` /
// `sent_message` what was sent. Actions without a message id stand alone.

import type { Action } from "../api/types";

export interface LlmCall {
  actionId: number;
  provider: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
  usdCost: number;
  latencyMs: number | null;
}

export interface Trail {
  key: string;
  messageId: string | null;
  guildId: string | null;
  channelId: string | null;
  author: string | null;
  incoming: string | null;
  decision: { verdict: string; reason: string } | null;
  llmCalls: LlmCall[];
  sent: { content: string; messageId: string | null }[];
  others: Action[];
  firstAt: string;
  lastId: number;
  totalCost: number;
}

const str = (value: unknown): string | null => (typeof value === "string" ? value : null);
const num = (value: unknown): number | null => (typeof value === "number" && isFinite(value) ? value : null);

function emptyTrail(key: string, action: Action): Trail {
  return {
    key,
    messageId: action.message_id,
    guildId: action.guild_id,
    channelId: action.channel_id,
    author: null,
    incoming: null,
    decision: null,
    llmCalls: [],
    sent: [],
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
  trail.totalCost += action.usd_cost;
  switch (action.kind) {
    case "reply_admission":
      trail.decision = { verdict: str(meta.decision) ?? "unknown", reason: str(meta.reason) ?? "" };
      trail.incoming = action.content || trail.incoming;
      trail.author = str(meta.author) ?? trail.author;
      break;
    case "llm_call":
      trail.llmCalls.push({
        actionId: action.id,
        provider: str(meta.provider) ?? "?",
        model: str(meta.model) ?? "?",
        inputTokens: num(meta.input_tokens) ?? 0,
        outputTokens: num(meta.output_tokens) ?? 0,
        usdCost: action.usd_cost,
        latencyMs: num(meta.latency_ms),
      });
      break;
    case "sent_reply":
    case "sent_message":
      trail.sent.push({ content: action.content, messageId: str(meta.sent_message_id) });
      break;
    default:
      trail.others.push(action);
  }
}

/** Trails, most recently active first. `actions` may be in any order and contain duplicates. */
export function buildTrails(actions: Action[]): Trail[] {
  const byId = new Map<number, Action>();
  for (const action of actions) byId.set(action.id, action);
  const ordered = [...byId.values()].sort((a, b) => a.id - b.id);
  const trails = new Map<string, Trail>();
  for (const action of ordered) {
    const key = action.message_id ? `m${action.message_id}` : `a${action.id}`;
    let trail = trails.get(key);
    if (!trail) {
      trail = emptyTrail(key, action);
      trails.set(key, trail);
    }
    add(trail, action);
  }
  for (const trail of trails.values()) trail.llmCalls.sort((a, b) => a.actionId - b.actionId);
  return [...trails.values()].sort((a, b) => b.lastId - a.lastId);
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
