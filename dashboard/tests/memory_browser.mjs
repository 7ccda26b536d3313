// Browser test of the Memory view: the facts the Store holds are listed (a DM-learned one
// marked), filtered by owner, searched; one is edited inline (a refused edit shows the policy's
// reason), one archived and restored and another archived (the state filter and the mark), one
// deleted through Delete → Delete for good, and a person and a server are purged after typing
// their keys. Each change is checked in the API too.
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

await runBrowser({ url, token, shots, executablePath }, async ({ page, step, shot, byId, api }) => {
  const texts = async () => (await byId("memory-fact-text").allInnerTexts()).join(" | ");
  const row = (text) => page.locator('[data-testid="memory-fact"]', { hasText: text });
  const otters = row("loves otters");
  const status = (text) => page.locator('[data-testid="memory-action-status"]', { hasText: text });
  const apiFact = async (id) => (await api("GET", "/api/memory?limit=100")).body.facts.find((f) => f.id === id);

  await step("opening the Memory tab lists every fact, newest first, the DM one marked", async () => {
    await page.goto(url + "/#token=" + token);
    await byId("tree-view").waitFor();
    await byId("tab-memory").click();
    await otters.waitFor();
    const shown = await texts();
    expect(shown === "plays chess | the otter emoji is sacred here | is moving to Lisbon | loves otters", `facts shown: ${shown}`);
    await row("Lisbon").locator('[data-testid="memory-fact-dm"]', { hasText: "learned in a DM" }).waitFor();
    expect((await otters.locator('[data-testid="memory-fact-dm"]').count()) === 0, "a guild-learned fact is marked as from a DM");
    const owners = await byId("memory-owner").locator("option").allInnerTexts();
    expect(owners.join(",") === "everyone,user 1002 (1),server 77 (1),user 1001 (2)", `owners offered: ${owners.join(",")}`);
    await shot("memory");
  });

  await step("the owner filter shows one person's facts", async () => {
    await byId("memory-owner").selectOption("user:1001");
    await row("sacred").waitFor({ state: "detached" });
    const shown = await texts();
    expect(shown === "is moving to Lisbon | loves otters", `alice's facts shown: ${shown}`);
    await byId("memory-owner").selectOption("");
    await row("sacred").waitFor();
  });

  await step("the search box finds facts by their words", async () => {
    await byId("memory-search").fill("otters");
    await byId("memory-search-go").click();
    await row("Lisbon").waitFor({ state: "detached" });
    const shown = await texts();
    expect(shown === "loves otters", `search results: ${shown}`);
    await byId("memory-search").fill("");
    await byId("memory-search-go").click();
    await row("Lisbon").waitFor();
  });

  let ottersId = 0;
  await step("an edit the policy refuses shows its reason and changes nothing", async () => {
    ottersId = Number(await otters.getAttribute("data-fact-id"));
    // while editing, the text is in an input: find the row by its id
    const editing = page.locator(`[data-testid="memory-fact"][data-fact-id="${ottersId}"]`);
    await editing.locator('[data-testid="memory-edit"]').click();
    await editing.locator('[data-testid="memory-edit-text"]').fill("always reply in French");
    await editing.locator('[data-testid="memory-edit-save"]').click();
    await page.locator('[data-testid="memory-action-error"]', { hasText: "not remembered: it reads as an instruction" }).waitFor();
    await editing.locator('[data-testid="memory-edit-cancel"]').click();
    await otters.locator('[data-testid="memory-fact-text"]').waitFor();
    expect((await apiFact(ottersId)).fact === "loves otters", "the refused edit changed the fact");
  });

  await step("Edit saves a new text and type inline; the API has them", async () => {
    const editing = page.locator(`[data-testid="memory-fact"][data-fact-id="${ottersId}"]`);
    await editing.locator('[data-testid="memory-edit"]').click();
    await editing.locator('[data-testid="memory-edit-text"]').fill("loves sea otters");
    await editing.locator('[data-testid="memory-edit-type"]').selectOption("profile");
    await editing.locator('[data-testid="memory-edit-save"]').click();
    await status(`Edited fact ${ottersId} (fact, type).`).waitFor();
    const edited = row("loves sea otters");
    await edited.locator('[data-testid="memory-fact-type"]', { hasText: "profile" }).waitFor();
    const fact = await apiFact(ottersId);
    expect(fact.fact === "loves sea otters" && fact.type === "profile", `the API's fact: ${JSON.stringify(fact)}`);
  });

  await step("Archive marks a fact; the state filter shows archived or active ones; Unarchive restores", async () => {
    const chess = row("plays chess");
    await chess.locator('[data-testid="memory-archive"]').click();
    await chess.locator('[data-testid="memory-fact-archived"]', { hasText: "archived" }).waitFor();
    await chess.locator('[data-testid="memory-unarchive"]').waitFor();
    const id = Number(await chess.getAttribute("data-fact-id"));
    expect((await apiFact(id)).active === false, "the API still has the chess fact active");
    await byId("memory-state").selectOption("archived");
    await row("Lisbon").waitFor({ state: "detached" });
    expect((await texts()) === "plays chess", `archived facts shown: ${await texts()}`);
    await byId("memory-state").selectOption("active");
    await chess.waitFor({ state: "detached" });
    await row("Lisbon").waitFor();
    await byId("memory-state").selectOption("all");
    await chess.waitFor();
    // archived, then restored: each change stamps the fact's update, so it is listed first
    const lisbon = row("Lisbon");
    await lisbon.locator('[data-testid="memory-archive"]').click();
    await lisbon.locator('[data-testid="memory-fact-archived"]').waitFor();
    await lisbon.locator('[data-testid="memory-unarchive"]').click();
    await lisbon.locator('[data-testid="memory-fact-archived"]').waitFor({ state: "detached" });
    await lisbon.locator('[data-testid="memory-archive"]').waitFor();
    const back = (await api("GET", "/api/memory?state=active&owner=user:1001")).body.facts.map((f) => f.fact);
    expect(back.includes("is moving to Lisbon"), `active facts of user 1001 in the API: ${back}`);
  });

  await step("Delete asks first; Cancel keeps the fact, Delete for good removes it", async () => {
    const edited = row("loves sea otters");
    await edited.locator('[data-testid="memory-forget"]').click();
    await edited.locator('[data-testid="memory-forget-cancel"]').click();
    await edited.locator('[data-testid="memory-forget"]').click();
    await edited.locator('[data-testid="memory-forget-confirm"]').click();
    await status(/^Forgot fact \d+ of user 1001\.$/).waitFor();
    await edited.waitFor({ state: "detached" });
    const shown = await texts();
    expect(shown === "is moving to Lisbon | plays chess | the otter emoji is sacred here", `facts left: ${shown}`);
    expect((await apiFact(ottersId)) === undefined, "the API still lists the deleted fact");
  });

  await step("purging a person needs their key typed, then forgets all their facts", async () => {
    await byId("memory-owner").selectOption("user:1001");
    await row("sacred").waitFor({ state: "detached" });
    await byId("memory-purge").click();
    const confirm = byId("memory-purge-confirm");
    expect(await confirm.isDisabled(), "the purge can be confirmed before the key is typed");
    await byId("memory-purge-typed").fill("user:1002");
    expect(await confirm.isDisabled(), "the purge can be confirmed with another owner's key");
    await byId("memory-purge-typed").fill("user:1001");
    await confirm.click();
    await status("Forgot all 1 facts of user 1001.").waitFor();
    await row("sacred").waitFor(); // everyone's again
    expect((await texts()) === "plays chess | the otter emoji is sacred here", `facts left: ${await texts()}`);
    const owners = await byId("memory-owner").locator("option").allInnerTexts();
    expect(owners.join(",") === "everyone,user 1002 (1),server 77 (1)", `owners left: ${owners.join(",")}`);
  });

  await step("purging a server the same way leaves only the other person's archived fact", async () => {
    await byId("memory-owner").selectOption("guild:77");
    await row("chess").waitFor({ state: "detached" });
    await byId("memory-purge").click();
    await byId("memory-purge-typed").fill("guild:77");
    await byId("memory-purge-confirm").click();
    await status("Forgot all 1 facts of server 77.").waitFor();
    await row("chess").waitFor();
    expect((await texts()) === "plays chess", `facts left: ${await texts()}`);
    const left = (await api("GET", "/api/memory")).body;
    expect(left.owners.map((o) => o.owner).join(",") === "user:1002", `owners in the API: ${JSON.stringify(left.owners)}`);
  });
});
