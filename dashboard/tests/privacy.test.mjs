// Unit test of the privacy-code grouping (src/voice/privacy.ts), transpiled with the project's
// own `typescript` (Node 20 runs no TypeScript).
//
//   node tests/privacy.test.mjs      (tests/dashboard/test_voice.py runs it)

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import ts from "typescript";

const source = readFileSync(new URL("../src/voice/privacy.ts", import.meta.url), "utf8");
const { outputText } = ts.transpileModule(source, {
  compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
});
const dir = mkdtempSync(join(tmpdir(), "clanker-privacy-"));
writeFileSync(join(dir, "privacy.mjs"), outputText);
const { groupPrivacyCode } = await import(pathToFileURL(join(dir, "privacy.mjs")).href);
rmSync(dir, { recursive: true, force: true });

const results = [];
function test(name, fn) {
  fn();
  results.push(name);
  console.log(`ok   ${name}`);
}

test("the 30 digits are six groups of five, leading zeros kept", () => {
  assert.equal(groupPrivacyCode("503848243406165000071234598760"), "50384 82434 06165 00007 12345 98760");
  assert.equal(groupPrivacyCode("000000000000000000000000000001"), "00000 00000 00000 00000 00000 00001");
});

test("a code already spaced is regrouped, a short tail stays short, empty stays empty", () => {
  assert.equal(groupPrivacyCode("5038 4824 34"), "50384 82434");
  assert.equal(groupPrivacyCode("1234567"), "12345 67");
  assert.equal(groupPrivacyCode(""), "");
});

console.log(`${results.length} passed, 0 failed`);
