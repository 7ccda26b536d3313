// Browser test of the Voice view with a real voice brain: the operator joins the Lounge from
// the Join form, a member speaks in the call (the Python side plays her Piper speech once the
// call is end-to-end encrypted), and the turn appears: who, what she said, the offline demo
// brain's reply, spoken, with its latency; then music from the sandbox's library (play, pause,
// resume, queue, stop); then Stop speaking and Leave.
//
//   DASHBOARD_URL=http://127.0.0.1:PORT DASHBOARD_TOKEN=... VOICE_SAID="hear me" node tests/voice_browser.mjs
//
// VOICE_SAID: words the transcript of her turn contains.
//
// Optional: SCREENSHOT_DIR (voice-brain.png), CHROMIUM (default /usr/bin/chromium), TURN_WAIT_MS.
// tests/dashboard/test_browser_voice.py starts the stack, speaks, and runs this.

import { expect, runBrowser } from "./harness.mjs";

const url = process.env.DASHBOARD_URL;
const token = process.env.DASHBOARD_TOKEN;
const said = process.env.VOICE_SAID;
const shots = process.env.SCREENSHOT_DIR;
const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";
// Joining loads the local models; the turn waits for the call's keys, Whisper and Piper.
const TURN_WAIT = Number(process.env.TURN_WAIT_MS ?? 120_000);
if (!url || !token || !said) {
  console.error("set DASHBOARD_URL, DASHBOARD_TOKEN and VOICE_SAID");
  process.exit(2);
}

await runBrowser({ url, token, shots, executablePath }, async ({ page, step, shot, byId }) => {
  const call = page.locator('[data-testid="voice-connection"]', { hasText: "Lounge" });

  await step("logging in and opening the Voice view: no connection yet", async () => {
    await page.goto(url + "/#token=" + token);
    await byId("tree-view").waitFor();
    await byId("tab-voice").click();
    await byId("voice-none").waitFor();
    // The channel list comes from GET /api/guilds, apart from the voice status: wait for it.
    await byId("voice-join-channel").locator("option").first().waitFor({ state: "attached", timeout: 30_000 });
    const options = await byId("voice-join-channel").locator("option").allInnerTexts();
    expect(options.join(",") === "Sandbox / Lounge", `voice channels offered: ${options.join(",")}`);
  });

  await step("Join connects the bot to the Lounge with its voice brain", async () => {
    await byId("voice-join").click();
    await page.locator('[data-testid="voice-action-status"]', { hasText: "Joined Lounge." }).waitFor({ timeout: TURN_WAIT });
    await call.locator('[data-testid="voice-phase"]', { hasText: "ready" }).waitFor({ timeout: TURN_WAIT });
    await call.locator('[data-testid="voice-brain-phase"]', { hasText: "idle" }).waitFor();
  });

  await step("a member speaks: the turn shows who, what she said, the reply, spoken, and its latency", async () => {
    const turn = call.locator('[data-testid="voice-turn"]', { hasText: said });
    await turn.locator('[data-testid="voice-turn-outcome"]', { hasText: "spoken" }).waitFor({ timeout: TURN_WAIT });
    const who = await turn.locator('[data-testid="voice-turn-who"]').innerText();
    expect(who === "Alice", `speaker shown: ${who}`);
    const reply = await turn.locator('[data-testid="voice-turn-reply"]').innerText();
    expect(reply.startsWith("This is the offline demo brain. Alice, I heard"), `reply shown: ${reply}`);
    const latency = await turn.locator('[data-testid="voice-turn-latency"]').innerText();
    expect(/^\d+ ms$/.test(latency), `speech end → first audio shown: ${latency}`);
    const stages = await turn.locator('[data-testid="voice-turn-stages"]').innerText();
    expect(
      /^end of turn \d+ ms · transcript \d+ ms · first token \d+ ms · first audio \d+ ms$/.test(stages),
      `stages shown: ${stages}`,
    );
    const title = await turn.locator("td[title]").getAttribute("title");
    expect(title === stages, `stages on hover: ${title}`);
    await call.locator('[data-testid="voice-listening"]', { hasText: "hearing Alice" }).waitFor();
    await call.locator('[data-testid="voice-e2ee"]', { hasText: "End-to-end encrypted: yes" }).waitFor();
    await shot("voice-brain");
  });

  await step("music: play a title from the library, pause, resume, queue another, stop", async () => {
    const phase = call.locator('[data-testid="voice-music-phase"]');
    await phase.filter({ hasText: "nothing playing" }).waitFor();
    const status = (text) => page.locator('[data-testid="voice-action-status"]', { hasText: text }).waitFor({ timeout: TURN_WAIT });
    await call.locator('[data-testid="voice-music-query"]').fill("test tune");
    await call.locator('[data-testid="voice-music-play"]').click();
    await status("Playing Test Tune.");
    await call.locator('[data-testid="voice-music-now"]', { hasText: "Test Tune" }).waitFor();
    // clankvox starts it once the announcement has played
    await phase.filter({ hasText: /^playing$/ }).waitFor({ timeout: TURN_WAIT });
    await call.locator('[data-testid="voice-music-pause"]').click();
    await status("Paused.");
    await phase.filter({ hasText: /^paused$/ }).waitFor();
    await call.locator('[data-testid="voice-music-resume"]').click();
    await status("Resuming.");
    await phase.filter({ hasText: /^playing$/ }).waitFor({ timeout: TURN_WAIT });
    await call.locator('[data-testid="voice-music-query"]').fill("second song");
    await call.locator('[data-testid="voice-music-add"]').click();
    await status("Added Second Song, number 1 in the queue.");
    await call.locator('[data-testid="voice-music-queue"]', { hasText: "Second Song" }).waitFor();
    await call.locator('[data-testid="voice-music-stop"]').click();
    await status("Stopped the music.");
    await phase.filter({ hasText: "nothing playing" }).waitFor({ timeout: TURN_WAIT });
  });

  await step("Mute: the call shows it muted and stays up; Unmute lifts it", async () => {
    await call.locator('[data-testid="voice-mute"]', { hasText: "Mute" }).click();
    await page.locator('[data-testid="voice-action-status"]', { hasText: "Muted the bot in Lounge" }).waitFor();
    await call.locator('[data-testid="voice-muted"]').waitFor();
    await call.locator('[data-testid="voice-phase"]', { hasText: "ready" }).waitFor();
    await shot("voice-muted");
    await call.locator('[data-testid="voice-mute"]', { hasText: "Unmute" }).click();
    await page.locator('[data-testid="voice-action-status"]', { hasText: "Unmuted the bot in Lounge." }).waitFor();
    await call.locator('[data-testid="voice-muted"]').waitFor({ state: "detached" });
  });

  await step("Stop speaking reaches the call", async () => {
    await call.locator('[data-testid="voice-stop"]').click();
    await page.locator('[data-testid="voice-action-status"]', { hasText: "Told the bot to stop speaking in Lounge." }).waitFor();
  });

  await step("Leave ends the connection", async () => {
    await call.locator('[data-testid="voice-leave"]').click();
    await page.locator('[data-testid="voice-action-status"]', { hasText: "Left Lounge." }).waitFor();
    await byId("voice-none").waitFor();
  });
});
