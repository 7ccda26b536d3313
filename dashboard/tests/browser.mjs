// Browser test: drives the built dashboard in headless Chromium (Debian's `chromium`, through
// playwright-core; no browser download) against the real clanker in sandbox wiring
// (`open_sandbox_app`, the model's far end scripted by llmsim: tests/dashboard/wiring.py).
//
//   DASHBOARD_URL=http://127.0.0.1:PORT DASHBOARD_TOKEN=... CHANNEL_ACTOR=root/... node tests/browser.mjs
//
// CHANNEL_ACTOR is the tree path of #general's channel actor (the one the test crashes);
// VOICE_PRIVACY_CODE the privacy code of the bot's call in the Lounge, grouped in fives.
// Optional: SCREENSHOT_DIR (PNG per main view), CHROMIUM (default /usr/bin/chromium).
// tests/dashboard/test_browser.py starts the stack and runs this; exit status 0 = all passed.

import { expect, runBrowser } from "./harness.mjs";

const url = process.env.DASHBOARD_URL;
const token = process.env.DASHBOARD_TOKEN;
const shots = process.env.SCREENSHOT_DIR;
const channelActor = process.env.CHANNEL_ACTOR;
const privacyCode = process.env.VOICE_PRIVACY_CODE;
const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";
if (!url || !token || !channelActor || !privacyCode) {
  console.error("set DASHBOARD_URL, DASHBOARD_TOKEN, CHANNEL_ACTOR and VOICE_PRIVACY_CODE");
  process.exit(2);
}

await runBrowser({ url, token, shots, executablePath }, async ({ page, context, step, shot, byId, api }) => {
  await step("the dashboard asks for the token, refuses a wrong one", async () => {
    await page.goto(url);
    await byId("login-form").waitFor();
    await shot("login");
    await byId("login-token").fill("definitely-not-the-token");
    await byId("login-submit").click();
    await page.getByText("wrong dashboard token").waitFor();
  });

  const status = (path) => page.locator(`[data-testid="status-${path}"]`);
  const restarts = (path) => page.locator(`[data-testid="restarts-${path}"]`);
  const say = async (text) => {
    await byId("chat-input").fill(text);
    await byId("chat-send").click();
    await page.locator('[data-testid="member-message"]', { hasText: text }).waitFor();
  };
  const botSaid = (text) => page.locator('[data-testid="bot-message"]', { hasText: text }).waitFor();

  await step("logging in with the token shows the live supervision tree", async () => {
    await byId("login-token").fill(token);
    await byId("login-submit").click();
    await byId("tree-view").waitFor();
    for (const path of ["root/store", "root/settings", "root/llm", "root/pacing", "root/guilds/router", "root/discord", "root/discord/bridge", "root/dashboard"]) {
      await status(path).filter({ hasText: "running" }).waitFor();
    }
    // The header shows the bridge's state and its queues.
    await byId("discord-health").filter({ hasText: "discord: ready" }).waitFor();
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
    // Nobody addressed: it reaches the model, which decides to stay quiet.
    await say("nice weather today");
    const quiet = page.locator('[data-testid="chat-trails"] [data-testid="trail"]', { hasText: "nice weather today" });
    await quiet.locator('[data-testid="trail-decision"]', { hasText: "admitted" }).filter({ hasText: "ambient" }).waitFor();
    await quiet.locator('[data-testid="trail-decision"]', { hasText: "skipped" }).filter({ hasText: "llm skip" }).waitFor();
    await say("hello from the browser, clanker");
    await botSaid("clanker here: got it, Alice ('hello from the browser, clanker')");
    const trail = page.locator('[data-testid="chat-trails"] [data-testid="trail"]', { hasText: "hello from the browser" });
    await trail.locator('[data-testid="trail-decision"]', { hasText: "admitted" }).waitFor();
    await trail.locator('[data-testid="trail-decision"]', { hasText: "started" }).waitFor();
    await trail.locator('[data-testid="trail-llm"]', { hasText: "anthropic/claude-sonnet-4-6" }).waitFor();
    await trail.locator('[data-testid="trail-sent"]', { hasText: "clanker here: got it" }).waitFor();
    await trail.locator('[data-testid="trail-decision"]', { hasText: "sent" }).waitFor();
    const llm = await trail.locator('[data-testid="trail-llm"]').innerText();
    expect(/\d+ in \/ \d+ out tokens · \$0\.\d+ · \d+ ms/.test(llm), `llm step reads: ${llm}`);
    const decisions = await trail.locator('[data-testid="trail-decision"]').allInnerTexts();
    expect(decisions.join(" | ").replace(/\s+/g, " ") === "admitted addressed | started addressed | sent sent", `decisions: ${decisions.join(" | ")}`);
    const steps = await trail.locator("li.step .badge").allInnerTexts();
    expect(steps.join(",") === "admitted,started,model,send_started,message,sent", `steps in logged order: ${steps.join(",")}`);
    await shot("chat");
  });

  await step("the activity feed shows the same trail", async () => {
    await byId("tab-activity").click();
    const trail = page.locator('[data-testid="activity-view"] [data-testid="trail"]', { hasText: "hello from the browser" });
    await trail.locator('[data-testid="trail-decision"]', { hasText: "admitted" }).waitFor();
    await trail.locator('[data-testid="trail-sent"]', { hasText: "clanker here: got it" }).waitFor();
    await page.locator(".activity .stream.open").waitFor();
    await shot("activity");
  });

  await step("the settings editor validates inline and saves with compare-and-swap", async () => {
    await byId("tab-settings").click();
    await byId("settings-view").waitFor();
    // Version 1 is the test's own write (no coalescing wait, no gap between replies).
    await page.locator('[data-testid="settings-version"]', { hasText: "version 1" }).waitFor();
    await byId("setting-identity.bot_name").fill("");
    await page.locator('[data-testid="error-identity.bot_name"]', { hasText: "must not be empty" }).waitFor();
    expect(await byId("settings-save").isDisabled(), "save must be disabled while a field is invalid");
    await byId("setting-activity.ambient_reply_eagerness").fill("250");
    await page.locator('[data-testid="error-activity.ambient_reply_eagerness"]', { hasText: "at most 100" }).waitFor();
    await shot("settings-invalid");
    await byId("setting-activity.ambient_reply_eagerness").fill("35");
    await byId("setting-identity.bot_name").fill("Botsworth");
    await byId("settings-save").click();
    await page.locator('[data-testid="settings-status"]', { hasText: "Saved: version 2" }).waitFor();
    await shot("settings");
  });

  await step("a stale save gets the conflict and can re-apply its edits on top", async () => {
    const meanwhile = await api("PUT", "/api/settings", { expected_version: 2, patch: { permissions: { max_messages_per_hour: 42 } } });
    expect(meanwhile.status === 200 && meanwhile.body.version === 3, `concurrent save: ${JSON.stringify(meanwhile)}`);
    await byId("setting-reply_generation.temperature").fill("0.7");
    await byId("settings-save").click();
    await byId("settings-conflict").waitFor();
    await page.getByText("Someone saved version 3").waitFor();
    await shot("settings-conflict");
    await page.getByRole("button", { name: "Re-apply my edits on top" }).click();
    expect((await byId("setting-permissions.max_messages_per_hour").inputValue()) === "42", "their change is kept");
    expect((await byId("setting-reply_generation.temperature").inputValue()) === "0.7", "my change is kept");
    await byId("settings-save").click();
    await page.locator('[data-testid="settings-status"]', { hasText: "Saved: version 4" }).waitFor();
    const stored = await api("GET", "/api/settings");
    const doc = stored.body.document;
    expect(
      doc.identity.bot_name === "Botsworth" &&
        doc.activity.ambient_reply_eagerness === 35 &&
        doc.permissions.max_messages_per_hour === 42 &&
        doc.reply_generation.temperature === 0.7,
      `stored settings: ${JSON.stringify(doc)}`,
    );
  });

  await step("the changed setting takes effect: the bot answers to its new name", async () => {
    await byId("tab-chat").click();
    await say("Botsworth, what is your name now?");
    await botSaid("Botsworth here: got it, Alice ('Botsworth, what is your name now?')");
  });

  await step("the costs view charts spend per day and per model", async () => {
    await byId("tab-costs").click();
    await byId("cost-chart").waitFor();
    const days = await page.locator('[data-testid="cost-day"]').count();
    expect(days === 14, `14 day bars by default, got ${days}`);
    for (const model of ["anthropic/claude-sonnet-4-6", "openai/gpt-5-mini", "anthropic/claude-haiku-4-5"]) {
      await page.locator('[data-testid="cost-models"] tr', { hasText: model }).waitFor();
    }
    await page.locator('[data-testid="cost-kinds"] tr', { hasText: "reply_decision" }).waitFor();
    await page.locator('[data-testid="cost-kinds"] tr', { hasText: "sent_message" }).waitFor();
    await shot("costs");
  });

  await step("the voice view shows the call end-to-end encrypted and its privacy code in fives", async () => {
    await byId("tab-voice").click();
    const call = page.locator('[data-testid="voice-connection"]', { hasText: "Lounge" });
    await call.locator('[data-testid="voice-phase"]', { hasText: "ready" }).waitFor();
    await call.locator('[data-testid="voice-e2ee"]', { hasText: "End-to-end encrypted: yes" }).waitFor();
    await call.locator('[data-testid="voice-dave-status"]', { hasText: "ready, DAVE protocol 1" }).waitFor();
    const shown = await call.locator('[data-testid="voice-privacy-code"]').innerText();
    expect(shown === privacyCode, `privacy code shown: ${shown}, alice's libdave: ${privacyCode}`);
    await call.locator('[data-testid="voice-counters"]', { hasText: "0 decrypt failures" }).waitFor();
    await call.locator('[data-testid="voice-counters"]', { hasText: "0 passed through" }).waitFor();
    expect((await call.innerText()).includes("Sandbox"), "the guild's name is shown");
    await shot("voice");
  });

  await step("crashing the channel actor shows it crash and restart on the live tree", async () => {
    await byId("tab-tree").click();
    await restarts(channelActor).filter({ hasText: "0" }).waitFor();
    await byId(`crash-${channelActor}`).click();
    await restarts(channelActor).filter({ hasText: "1" }).waitFor();
    await status(channelActor).filter({ hasText: "running" }).waitFor();
    await page.locator('[data-testid="runtime-events"] li', { hasText: "crashed: OperatorRequestedCrash" }).waitFor();
    await page.locator('[data-testid="runtime-events"] li', { hasText: "restarted (1 restart)" }).waitFor();
    await shot("tree-restart");
  });

  await step("the restarted channel actor answers again", async () => {
    await byId("tab-chat").click();
    await say("Botsworth, still there?");
    await botSaid("Botsworth here: got it, Alice ('Botsworth, still there?')");
  });

  await step("logging out ends the session on the server", async () => {
    await byId("logout").click();
    await byId("login-form").waitFor();
    const status = await page.evaluate(async () => (await fetch("/api/health")).status);
    expect(status === 401, `after logout /api/health answered ${status}`);
  });
});
