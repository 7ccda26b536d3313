// Unit test of the decision-trail grouping (src/activity/trails.ts) on action rows shaped as
// clanker's text pipeline logs them. Node 20 runs no TypeScript, so the module is transpiled
// with the project's own `typescript` first.
//
//   node tests/trails.test.mjs      (tests/dashboard/test_trails.py runs it)

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import ts from "typescript";

const source = readFileSync(new URL("../src/activity/trails.ts", import.meta.url), "utf8");
const { outputText } = ts.transpileModule(source, {
  compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
});
const dir = mkdtempSync(join(tmpdir(), "clanker-trails-"));
writeFileSync(join(dir, "trails.mjs"), outputText);
const { buildTrails, finalVerdict, aboutIds } = await import(pathToFileURL(join(dir, "trails.mjs")).href);
rmSync(dir, { recursive: true, force: true });

let id = 0;
const action = (kind, fields = {}) => ({
  id: ++id,
  kind,
  guild_id: "10",
  channel_id: "20",
  message_id: null,
  user_id: null,
  content: "",
  metadata: {},
  usd_cost: 0,
  created_at: `2026-11-21T18:00:${String(id).padStart(2, "0")}+00:00`,
  ...fields,
});
const decision = (messageId, decision, reason, extra = {}) =>
  action("reply_decision", { message_id: messageId, content: `${decision}: ${reason}`, metadata: { decision, reason, ...extra } });

const results = [];
function test(name, fn) {
  id = 0;
  fn();
  results.push(name);
  console.log(`ok   ${name}`);
}

test("a burst answered by one job is one trail, in logged order", () => {
  const rows = [
    decision("101", "admitted", "addressed"),
    decision("102", "admitted", "active_conversation"),
    decision("102", "started", "addressed", { job_id: 1, message_ids: ["101", "102"] }),
    action("llm_call", {
      message_id: "102",
      content: '{"text": "hi both"}',
      usd_cost: 0.0016,
      metadata: { provider: "anthropic", model: "claude-sonnet-4-6", usage: { input_tokens: 400, output_tokens: 20 }, latency: 0.25, outcome: "ok", error: null },
    }),
    action("sent_message", { message_id: "900", content: "hi both", metadata: { job_id: 1, trigger_message_id: "102", message_ids: ["101", "102"] } }),
    decision("102", "sent", "sent", { job_id: 1, message_ids: ["101", "102"] }),
  ];
  const trails = buildTrails([...rows].reverse().concat(rows.slice(0, 2))); // any order, duplicates
  assert.equal(trails.length, 1);
  const [trail] = trails;
  assert.deepEqual(trail.messageIds, ["101", "102"]);
  assert.deepEqual(trail.decisions.map((d) => `${d.verdict}:${d.reason}`), [
    "admitted:addressed",
    "admitted:active_conversation",
    "started:addressed",
    "sent:sent",
  ]);
  assert.deepEqual(trail.llmCalls.map((c) => [c.provider, c.model, c.inputTokens, c.outputTokens, c.latencyMs, c.outcome]), [
    ["anthropic", "claude-sonnet-4-6", 400, 20, 250, "ok"],
  ]);
  assert.deepEqual(trail.sent.map((s) => [s.content, s.messageId]), [["hi both", "900"]]);
  assert.equal(finalVerdict(trail), "sent");
  assert.equal(trail.totalCost, 0.0016);
  assert.equal(trail.lastId, 6);
});

test("separate messages are separate trails, newest first; a skip ends its trail", () => {
  const rows = [
    decision("201", "skipped", "replies_disabled"),
    decision("202", "admitted", "ambient"),
    decision("202", "started", "ambient", { job_id: 2, message_ids: ["202"] }),
    decision("202", "skipped", "llm_skip", { job_id: 2, message_ids: ["202"] }),
  ];
  const trails = buildTrails(rows);
  assert.deepEqual(trails.map((t) => [t.messageIds.join(","), finalVerdict(t)]), [
    ["202", "skipped"],
    ["201", "skipped"],
  ]);
});

test("reactions and failures join their message; actions about no message stand alone", () => {
  const rows = [
    decision("301", "admitted", "addressed"),
    action("llm_call", {
      message_id: "301",
      content: "timeout after 3 attempts",
      metadata: { provider: "openai", model: "gpt-5-mini", usage: null, latency: 30.5, outcome: "error", error: { kind: "timeout", message: "no answer in 30 s" } },
    }),
    action("reaction_added", { message_id: "301", content: "🤔" }),
    action("send_failed", { message_id: "301", content: "hi", metadata: { job_id: 3, detail: "403" } }),
    action("llm_call", { metadata: { provider: "anthropic", model: "m", usage: { input_tokens: 5, output_tokens: 1 }, latency: 0.1, outcome: "ok" }, usd_cost: 0.01 }),
  ];
  const trails = buildTrails(rows);
  assert.equal(trails.length, 2);
  const [alone, trail] = trails;
  assert.deepEqual(alone.messageIds, []);
  assert.equal(alone.llmCalls[0].inputTokens, 5);
  assert.deepEqual(trail.llmCalls.map((c) => [c.outcome, c.error, c.inputTokens, c.latencyMs]), [["error", "timeout: no answer in 30 s", 0, 30500]]);
  assert.deepEqual(trail.reactions.map((r) => [r.emoji, r.ok]), [["🤔", true]]);
  assert.deepEqual(trail.others.map((a) => a.kind), ["send_failed"]);
});

test("a sent message's own id is the bot's message, not what it answers", () => {
  const sent = action("sent_reply", { message_id: "999", metadata: { trigger_message_id: "401", message_ids: ["401"] } });
  assert.deepEqual(aboutIds(sent), ["401", "401"]);
  assert.deepEqual(aboutIds(decision("402", "admitted", "addressed")), ["402"]);
});

console.log(`${results.length} passed, 0 failed`);
