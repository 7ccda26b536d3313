// Browser test of the Memory view: the facts the Store holds are listed (a DM-learned one
// marked), filtered by owner, searched, one is forgotten through Forget → Forget for good, and
// a person's remaining facts are purged.
//
//   DASHBOARD_URL=http://127.0.0.1:PORT DASHBOARD_TOKEN=... node tests/memory_browser.mjs
//
// Optional: SCREENSHOT_DIR (memory.png), CHROMIUM (default /usr/bin/chromium).
// tests/dashboard/test_browser_memory.py writes the facts, runs this, and checks the Store.

import { expect, runBrowser } from "./harness.mjs";

const url = process.env.DASHBOARD_URL;
const token = process.env.DASHBOARD_TOKEN;
const shots = process.env.SCREENSHOT_DIR;
const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";
if (!url || !token) {
  console.error("set DASHBOARD_URL and DASHBOARD_TOKEN");
  process.exit(2);
}

await runBrowser({ url, token, shots, executablePath }, async ({ page, step, shot, byId }) => {
  const texts = async () => (await byId("memory-fact-text").allInnerTexts()).join(" | ");
  const otters = page.locator('[data-testid="memory-fact"]', { hasText: "loves otters" });

  await step("opening the Memory tab lists every fact, newest first, the DM one marked", async () => {
    await page.goto(url + "/#token=" + token);
    await byId("tree-view").waitFor();
    await byId("tab-memory").click();
    await otters.waitFor();
    const shown = await texts();
    expect(shown === "the otter emoji is sacred here | is moving to Lisbon | loves otters", `facts shown: ${shown}`);
    const dm = page.locator('[data-testid="memory-fact"]', { hasText: "Lisbon" });
    await dm.locator('[data-testid="memory-fact-dm"]', { hasText: "learned in a DM" }).waitFor();
    expect((await otters.locator('[data-testid="memory-fact-dm"]').count()) === 0, "a guild-learned fact is marked as from a DM");
    const owners = await byId("memory-owner").locator("option").allInnerTexts();
    expect(owners.join(",") === "everyone,server 77 (1),user 1001 (2)", `owners offered: ${owners.join(",")}`);
    await shot("memory");
  });

  await step("the owner filter shows one person's facts", async () => {
    await byId("memory-owner").selectOption("user:1001");
    await page.locator('[data-testid="memory-fact"]', { hasText: "sacred" }).waitFor({ state: "detached" });
    const shown = await texts();
    expect(shown === "is moving to Lisbon | loves otters", `alice's facts shown: ${shown}`);
    await byId("memory-owner").selectOption("");
  });

  await step("the search box finds facts by their words", async () => {
    await byId("memory-search").fill("otters");
    await byId("memory-search-go").click();
    await page.locator('[data-testid="memory-fact"]', { hasText: "Lisbon" }).waitFor({ state: "detached" });
    const shown = await texts();
    expect(shown === "loves otters", `search results: ${shown}`);
    await byId("memory-search").fill("");
    await byId("memory-search-go").click();
    await page.locator('[data-testid="memory-fact"]', { hasText: "Lisbon" }).waitFor();
  });

  await step("Forget asks first; Cancel keeps the fact", async () => {
    await otters.locator('[data-testid="memory-forget"]').click();
    await otters.locator('[data-testid="memory-forget-cancel"]').click();
    await otters.locator('[data-testid="memory-forget"]').waitFor();
  });

  await step("Forget for good deletes it: gone from the list", async () => {
    await otters.locator('[data-testid="memory-forget"]').click();
    await otters.locator('[data-testid="memory-forget-confirm"]').click();
    await page.locator('[data-testid="memory-action-status"]', { hasText: /^Forgot fact \d+ of user 1001\.$/ }).waitFor();
    await otters.waitFor({ state: "detached" });
    const shown = await texts();
    expect(shown === "the otter emoji is sacred here | is moving to Lisbon", `facts left: ${shown}`);
  });

  await step("purging a person forgets all their facts (the DM one too), after a confirmation", async () => {
    await byId("memory-owner").selectOption("user:1001");
    await byId("memory-purge").click();
    await byId("memory-purge-confirm").click();
    await page.locator('[data-testid="memory-action-status"]', { hasText: "Forgot all 1 facts of user 1001." }).waitFor();
    await page.locator('[data-testid="memory-fact"]', { hasText: "sacred" }).waitFor(); // everyone's again
    const shown = await texts();
    expect(shown === "the otter emoji is sacred here", `facts left: ${shown}`);
    const owners = await byId("memory-owner").locator("option").allInnerTexts();
    expect(owners.join(",") === "everyone,server 77 (1)", `owners left: ${owners.join(",")}`);
  });
});
