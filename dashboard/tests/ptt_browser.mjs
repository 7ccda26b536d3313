// Browser test of push-to-talk in the sandbox chat: Chromium's fake microphone loops a WAV
// (Piper saying a question, made by the Python side); the page holds "Hold to talk" for
// HOLD_MS and releases; the recording goes to POST /api/sandbox/speak and the member
// says it in the voice call. The Python side checks what the sandbox received and that the
// voice brain heard it.
//
//   DASHBOARD_URL=... DASHBOARD_TOKEN=... MIC_WAV=/path/q.wav HOLD_MS=2600 SPEAKER=Alice node tests/ptt_browser.mjs
//
// Optional: SCREENSHOT_DIR (push-to-talk.png), CHROMIUM (default /usr/bin/chromium).
// tests/dashboard/test_browser_ptt.py starts the stack and runs this.

import { expect, runBrowser } from "./harness.mjs";

const url = process.env.DASHBOARD_URL;
const token = process.env.DASHBOARD_TOKEN;
const wav = process.env.MIC_WAV;
const hold = Number(process.env.HOLD_MS ?? 3000);
const speaker = process.env.SPEAKER ?? "Alice";
const shots = process.env.SCREENSHOT_DIR;
const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";
if (!url || !token || !wav) {
  console.error("set DASHBOARD_URL, DASHBOARD_TOKEN and MIC_WAV");
  process.exit(2);
}
const args = [
  "--use-fake-ui-for-media-stream", // grant the microphone without asking
  "--use-fake-device-for-media-stream",
  // The file, looped, from when the page opens the microphone (the caller holds long enough
  // for the recording to take in one whole loop, however late the page starts recording).
  `--use-file-for-fake-audio-capture=${wav}`,
  "--autoplay-policy=no-user-gesture-required",
];

await runBrowser({ url, token, shots, executablePath, args }, async ({ page, step, shot, byId }) => {
  await step("logging in and opening the sandbox chat", async () => {
    await page.goto(url + "/#token=" + token);
    await byId("tree-view").waitFor();
    await byId("tab-chat").click();
    await byId("chat-view").waitFor();
    // The member list arrives with GET /api/sandbox after the view first draws: wait for it.
    await byId("chat-author").locator("option").first().waitFor({ state: "attached", timeout: 30_000 });
    const names = await byId("chat-author").locator("option").allInnerTexts();
    expect(names.includes(speaker), `members offered: ${names.join(",")}`);
    await byId("chat-author").selectOption({ label: speaker });
  });

  await step("holding the button records from the microphone; releasing says it in the call", async () => {
    const button = byId("chat-ptt");
    expect((await button.innerText()) === "Hold to talk", `button: ${await button.innerText()}`);
    await button.hover();
    await page.mouse.down();
    await page.locator('[data-testid="chat-ptt"][data-state="recording"]').waitFor();
    await page.waitForTimeout(hold);
    await page.mouse.up();
    const banner = page.locator('[data-testid="chat-spoken"]', { hasText: "spoke in voice from the microphone" });
    await banner.waitFor({ timeout: 60_000 });
    const text = await banner.innerText();
    const seconds = Number(/\(([\d.]+) s\)/.exec(text)?.[1]);
    expect(seconds > hold / 1000 - 0.5 && seconds < hold / 1000 + 1.5, `seconds recorded: ${text}`);
    expect((await byId("chat-error").count()) === 0, "an error was shown");
    await page.locator('[data-testid="chat-ptt"][data-state="idle"]').waitFor();
    await shot("push-to-talk");
  });
});
