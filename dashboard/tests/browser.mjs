// Browser test: drives the built dashboard in headless Chromium (Debian's `chromium`, through
// playwright-core; no browser download) against a running clanker in sandbox wiring.
//
//   DASHBOARD_URL=http://127.0.0.1:PORT DASHBOARD_TOKEN=... node tests/browser.mjs
//
// Optional: SCREENSHOT_DIR (PNG per main view), CHROMIUM (default /usr/bin/chromium).
// tests/dashboard/test_browser.py starts the stack and runs this; exit status 0 = all passed.

import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const url = process.env.DASHBOARD_URL;
const token = process.env.DASHBOARD_TOKEN;
const shots = process.env.SCREENSHOT_DIR;
const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const WAIT = 30_000;
if (!url || !token) {
  console.error("set DASHBOARD_URL and DASHBOARD_TOKEN");
  process.exit(2);
}
if (shots) mkdirSync(shots, { recursive: true });

const steps = [];
async function step(name, fn) {
  const started = Date.now();
  try {
    await fn();
    steps.push(name);
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (error) {
    console.log(`FAIL ${name}: ${error?.stack ?? error}`);
    throw error;
  }
}

async function api(method, path, body) {
  const response = await fetch(url + path, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: response.status, body: await response.json() };
}

function expect(condition, message) {
  if (!condition) throw new Error(message);
}

const profile = mkdtempSync(join(tmpdir(), "clanker-chromium-"));
// A persistent context is how playwright takes a fresh --user-data-dir of our own.
const context = await chromium.launchPersistentContext(profile, {
  executablePath,
  headless: true,
  viewport: { width: 1360, height: 860 },
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
const pageErrors = [];
const consoleErrors = [];
let failed = false;
let page;
try {
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(WAIT);
  page.on("pageerror", (error) => pageErrors.push(String(error)));
  page.on("console", (message) => {
    if (message.type() === "error") consoleErrors.push(message.text());
  });
  const shot = async (name) => {
    if (shots) await page.screenshot({ path: join(shots, `${name}.png`), fullPage: false });
  };
  const byId = (id) => page.locator(`[data-testid="${id}"]`);

  await step("the dashboard asks for the token, refuses a wrong one", async () => {
    await page.goto(url);
    await byId("login-form").waitFor();
    await shot("login");
    await byId("login-token").fill("definitely-not-the-token");
    await byId("login-submit").click();
    await page.getByText("wrong dashboard token").waitFor();
  });

  await step("logging in with the token shows the live supervision tree", async () => {
    await byId("login-token").fill(token);
    await byId("login-submit").click();
    await byId("tree-view").waitFor();
    await page.locator('[data-testid="status-root/responder"]', { hasText: "running" }).waitFor();
    await page.locator('[data-testid="status-root/dashboard"]', { hasText: "running" }).waitFor();
    await page.locator(".tree-view .stream.open").waitFor();
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === "clanker_session");
    expect(session && session.httpOnly && session.sameSite === "Strict", `session cookie: ${JSON.stringify(session)}`);
    await shot("tree");
  });

  await step("a message sent from the chat panel gets a reply, with its decision trail, live", async () => {
    await byId("tab-chat").click();
    await byId("chat-view").waitFor();
    await page.locator('[data-testid="chat-trails"]').waitFor();
    await byId("chat-input").fill("hello from the browser");
    await byId("chat-send").click();
    await page.locator('[data-testid="member-message"]', { hasText: "hello from the browser" }).waitFor();
    await page.locator('[data-testid="bot-message"]', { hasText: "got it, Alice ('hello from the browser')" }).waitFor();
    const trail = page.locator('[data-testid="chat-trails"] [data-testid="trail"]', { hasText: "hello from the browser" });
    await trail.locator('[data-testid="trail-decision"]', { hasText: "admitted" }).waitFor();
    await trail.locator('[data-testid="trail-llm"]', { hasText: "sandbox/echo-1" }).waitFor();
    await trail.locator('[data-testid="trail-sent"]', { hasText: "clanker here: got it" }).waitFor();
    const llm = await trail.locator('[data-testid="trail-llm"]').innerText();
    expect(/\d+ in \/ \d+ out tokens · \$0\.000\d+ · [\d.]+ ms/.test(llm), `llm step reads: ${llm}`);
    await shot("chat");
  });

  await step("the activity feed shows the same trail", async () => {
    await byId("tab-activity").click();
    const trail = page.locator('[data-testid="activity-view"] [data-testid="trail"]', { hasText: "hello from the browser" });
    await trail.locator('[data-testid="trail-decision"]', { hasText: "admitted" }).waitFor();
    await page.locator(".activity .stream.open").waitFor();
    await shot("activity");
  });

  await step("the settings editor validates inline and saves with compare-and-swap", async () => {
    await byId("tab-settings").click();
    await byId("settings-view").waitFor();
    await page.locator('[data-testid="settings-version"]', { hasText: "version 0" }).waitFor();
    await byId("setting-identity.bot_name").fill("");
    await page.locator('[data-testid="error-identity.bot_name"]', { hasText: "must not be empty" }).waitFor();
    expect(await byId("settings-save").isDisabled(), "save must be disabled while a field is invalid");
    await byId("setting-activity.reply_eagerness").fill("250");
    await page.locator('[data-testid="error-activity.reply_eagerness"]', { hasText: "at most 100" }).waitFor();
    await shot("settings-invalid");
    await byId("setting-activity.reply_eagerness").fill("35");
    await byId("setting-identity.bot_name").fill("Clanky");
    await byId("settings-save").click();
    await page.locator('[data-testid="settings-status"]', { hasText: "Saved: version 1" }).waitFor();
    await shot("settings");
  });

  await step("a stale save gets the conflict and can re-apply its edits on top", async () => {
    const meanwhile = await api("PUT", "/api/settings", { expected_version: 1, patch: { permissions: { max_messages_per_hour: 42 } } });
    expect(meanwhile.status === 200 && meanwhile.body.version === 2, `concurrent save: ${JSON.stringify(meanwhile)}`);
    await byId("setting-reply_generation.temperature").fill("0.7");
    await byId("settings-save").click();
    await byId("settings-conflict").waitFor();
    await page.getByText("Someone saved version 2").waitFor();
    await shot("settings-conflict");
    await page.getByRole("button", { name: "Re-apply my edits on top" }).click();
    expect((await byId("setting-permissions.max_messages_per_hour").inputValue()) === "42", "their change is kept");
    expect((await byId("setting-reply_generation.temperature").inputValue()) === "0.7", "my change is kept");
    await byId("settings-save").click();
    await page.locator('[data-testid="settings-status"]', { hasText: "Saved: version 3" }).waitFor();
    const stored = await api("GET", "/api/settings");
    const doc = stored.body.document;
    expect(
      doc.identity.bot_name === "Clanky" && doc.permissions.max_messages_per_hour === 42 && doc.reply_generation.temperature === 0.7,
      `stored settings: ${JSON.stringify(doc)}`,
    );
  });

  await step("the changed setting takes effect: the bot answers with its new name", async () => {
    await byId("tab-chat").click();
    await byId("chat-input").fill("what is your name now?");
    await byId("chat-send").click();
    await page.locator('[data-testid="bot-message"]', { hasText: "Clanky here: got it, Alice ('what is your name now?')" }).waitFor();
  });

  await step("the costs view charts spend per day and per model", async () => {
    await byId("tab-costs").click();
    await byId("cost-chart").waitFor();
    const days = await page.locator('[data-testid="cost-day"]').count();
    expect(days === 14, `14 day bars by default, got ${days}`);
    for (const model of ["anthropic/claude-sonnet-4-6", "openai/gpt-5-mini", "sandbox/echo-1"]) {
      await page.locator('[data-testid="cost-models"] tr', { hasText: model }).waitFor();
    }
    await page.locator('[data-testid="cost-kinds"] tr', { hasText: "reply_admission" }).waitFor();
    await shot("costs");
  });

  await step("crashing an actor shows it crash and restart on the live tree", async () => {
    await byId("tab-tree").click();
    await page.locator('[data-testid="restarts-root/responder"]', { hasText: "0" }).waitFor();
    await byId("crash-root/responder").click();
    await page.locator('[data-testid="restarts-root/responder"]', { hasText: "1" }).waitFor();
    await page.locator('[data-testid="status-root/responder"]', { hasText: "running" }).waitFor();
    await page.locator('[data-testid="runtime-events"] li', { hasText: "crashed: OperatorRequestedCrash" }).waitFor();
    await page.locator('[data-testid="runtime-events"] li', { hasText: "restarted (1 restart)" }).waitFor();
    await shot("tree-restart");
  });

  await step("the restarted actor answers again", async () => {
    await byId("tab-chat").click();
    await byId("chat-input").fill("still there?");
    await byId("chat-send").click();
    await page.locator('[data-testid="bot-message"]', { hasText: "Clanky here: got it, Alice ('still there?')" }).waitFor();
  });

  await step("logging out ends the session on the server", async () => {
    await byId("logout").click();
    await byId("login-form").waitFor();
    const status = await page.evaluate(async () => (await fetch("/api/health")).status);
    expect(status === 401, `after logout /api/health answered ${status}`);
  });

  expect(pageErrors.length === 0, `uncaught page errors: ${pageErrors.join("; ")}`);
} catch {
  failed = true;
  if (page) {
    const where = join(shots ?? tmpdir(), "failure.png");
    await page.screenshot({ path: where, fullPage: true }).catch(() => undefined);
    console.log(`screenshot of the failure: ${where}`);
    console.log(`page errors: ${JSON.stringify(pageErrors)}`);
    console.log(`console errors: ${JSON.stringify(consoleErrors)}`);
  }
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(`${steps.length} passed, ${failed ? 1 : 0} failed`);
process.exit(failed ? 1 : 0);
