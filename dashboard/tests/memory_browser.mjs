// Browser test of the Memory view: the facts the Store holds are listed (a DM-learned one
// marked), filtered by owner, searched as clanker recalls (the ranked facts with the scores the
// API's Recall gives, over everyone and over a server as a reply there could see it) and by
// words only; a fact's evidence expands (a stored, a deleted and an unknown message); one is
// edited inline (a refused edit shows the policy's reason), one archived and restored and
// another archived (the state filter and the mark), one deleted through Delete → Delete for
// good, and a person and a server are purged after typing their keys; then a server's guidance
// rule and a bot's own fact are added (and a refused one shows its reason), and the reflection
// runs panel lists the logged runs newest first with the facts they wrote (a forgotten one
// marked; a click shows the other in the list). Each change is checked in the API too.
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

  const ranking = async () => {
    const scores = await byId("memory-fact-score").allInnerTexts();
    const ids = await byId("memory-fact").evaluateAll((rows) => rows.map((r) => Number(r.getAttribute("data-fact-id"))));
    return ids.map((id, i) => `${id}:${scores[i]}`).join(" ");
  };
  const apiRanking = async (params) => {
    const found = (await api("GET", "/api/memory/recall?" + new URLSearchParams({ ...params, limit: "50" }))).body;
    return found.facts.map((f) => `${f.id}:${f.score.toFixed(3)}`).join(" ");
  };

  await step("a search ranks the facts as clanker recalls, with the scores the API's Recall gives", async () => {
    await byId("memory-search").fill("otters sacred");
    await byId("memory-search-go").click();
    await byId("memory-recall-scope").waitFor();
    await row("Lisbon").waitFor({ state: "detached" });
    const shown = await texts();
    expect(shown === "loves otters | the otter emoji is sacred here" || shown === "the otter emoji is sacred here | loves otters", `ranked results: ${shown}`);
    const inView = await ranking();
    const fromApi = await apiRanking({ q: "otters sacred" });
    expect(inView === fromApi, `the view's ranking ${inView} is not the API's ${fromApi}`);
    const note = await byId("memory-recall-scope").innerText();
    expect(note.includes("Ranked as clanker recalls a reply's relevant facts") && note.includes("every owner (3)"), `scope note: ${note}`);
    await shot("memory-recall");
  });

  await step("a server's search covers its lore and the people seen there; words only searches FTS5", async () => {
    await byId("memory-owner").selectOption("guild:77");
    await byId("memory-recall-scope").filter({ hasText: "server 77 as a reply there could see it" }).waitFor();
    const note = await byId("memory-recall-scope").innerText();
    expect(note.includes("2 people seen there"), `guild scope note: ${note}`);
    // alice's fact is found through her messages in server 77, not because the filter lists it
    await row("loves otters").waitFor();
    const inView = await ranking();
    const fromApi = await apiRanking({ q: "otters sacred", owner: "guild:77" });
    expect(inView === fromApi, `the view's guild ranking ${inView} is not the API's ${fromApi}`);
    await byId("memory-owner").selectOption("");
    await byId("memory-search-mode").selectOption("words");
    await byId("memory-recall-scope").waitFor({ state: "detached" });
    await byId("memory-search").fill("otters");
    await byId("memory-search-go").click();
    await row("sacred").waitFor({ state: "detached" });
    expect((await texts()) === "loves otters", `words-only results: ${await texts()}`);
    expect((await byId("memory-fact-score").count()) === 0, "a words-only search shows scores");
    await byId("memory-search-mode").selectOption("recall");
    await byId("memory-search").fill("");
    await byId("memory-search-go").click();
    await row("Lisbon").waitFor();
  });

  await step("a fact's evidence expands under it: a stored, a deleted and an unknown message", async () => {
    const toggle = otters.locator('[data-testid="memory-evidence-toggle"]');
    expect((await toggle.innerText()) === "Evidence (3)", `toggle: ${await toggle.innerText()}`);
    await toggle.click();
    const panel = byId("memory-evidence");
    await panel.waitFor();
    const lines = panel.locator('[data-testid="memory-evidence-message"]');
    await lines.nth(2).waitFor();
    const statuses = await lines.evaluateAll((ls) => ls.map((l) => l.getAttribute("data-status")).join(","));
    expect(statuses === "stored,deleted,unknown", `evidence statuses: ${statuses}`);
    const first = lines.nth(0);
    expect((await first.locator('[data-testid="memory-evidence-author"]').innerText()) === "alice", "the first message's author");
    expect((await first.locator('[data-testid="memory-evidence-content"]').innerText()) === "I love otters so much", "the first message's text");
    const where = await first.locator('[data-testid="memory-evidence-where"]').innerText();
    expect(where === "channel 700 in server 77", `where: ${where}`);
    expect((await first.innerText()).includes("2026-12-01 09:59 UTC"), `time: ${await first.innerText()}`);
    await lines.nth(1).locator('[data-testid="memory-evidence-deleted"]', { hasText: "deleted" }).waitFor();
    expect((await lines.nth(2).innerText()).includes("message 5003: not in the Store"), `unknown: ${await lines.nth(2).innerText()}`);
    expect((await byId("memory-evidence-text").innerText()) === "alice: I love otters so much", "the stored excerpt");
    await shot("memory-evidence");
    await toggle.click();
    await panel.waitFor({ state: "detached" });
    const lisbon = row("Lisbon").locator('[data-testid="memory-evidence-toggle"]');
    await lisbon.click();
    await byId("memory-evidence-none").waitFor();
    await lisbon.click();
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

  await step("adding a fact: a server's guidance rule and the bot's own fact; a refused one shows why", async () => {
    await byId("memory-add").click();
    await byId("memory-add-scope").selectOption("guild");
    await byId("memory-add-id").fill("77");
    await byId("memory-add-text").fill("always reply in French");
    await byId("memory-add-type").selectOption("guidance");
    await byId("memory-add-confidence").fill("0.9");
    await byId("memory-add-save").click();
    await status(/^Added fact \d+ to server 77\.$/).waitFor();
    const rule = row("always reply in French");
    await rule.locator('[data-testid="memory-fact-type"]', { hasText: "guidance" }).waitFor();
    await rule.locator('[data-testid="memory-evidence-toggle"]', { hasText: "Evidence (0)" }).waitFor();
    // the same words about a person are an instruction to the bot: refused, with the reason
    await byId("memory-add-scope").selectOption("user");
    await byId("memory-add-id").fill("1002");
    await byId("memory-add-text").fill("always reply in French");
    await byId("memory-add-type").selectOption("other");
    await byId("memory-add-save").click();
    await page.locator('[data-testid="memory-action-error"]', { hasText: "not remembered: it reads as an instruction to the bot" }).waitFor();
    expect((await byId("memory-add-text").inputValue()) === "always reply in French", "the refused text was cleared");
    await byId("memory-add-scope").selectOption("self");
    await byId("memory-add-text").fill("was named after a tin robot");
    await byId("memory-add-type").selectOption("profile");
    await byId("memory-add-save").click();
    await status(/^Added fact \d+ to the bot itself\.$/).waitFor();
    await row("tin robot").waitFor();
    await byId("memory-add-cancel").click();
    await byId("memory-add-form").waitFor({ state: "detached" });
    const facts = (await api("GET", "/api/memory")).body.facts.map((f) => `${f.owner} ${f.type} ${f.fact}`);
    expect(
      facts.join(" | ") === "self profile was named after a tin robot | guild:77 guidance always reply in French | user:1002 preference plays chess",
      `the API's facts: ${facts.join(" | ")}`,
    );
  });

  await step("the reflection runs are listed newest first, with the facts they wrote", async () => {
    const runs = byId("reflection-run");
    await runs.nth(1).waitFor();
    expect((await runs.count()) === 2, `runs shown: ${await runs.count()}`);
    const daily = runs.nth(0);
    expect((await daily.locator('[data-testid="reflection-run-kind"]').innerText()).startsWith("daily"), "the newest run is not the daily one");
    expect((await daily.locator('[data-testid="reflection-window"]').innerText()) === "2026-11-30", "the daily run's day");
    expect((await daily.locator('[data-testid="reflection-outcome"]').innerText()) === "failed", "the daily run's outcome");
    expect((await daily.locator('[data-testid="reflection-error"]').innerText()) === "the model did not answer", "the daily run's error");
    const micro = runs.nth(1);
    const kind = await micro.locator('[data-testid="reflection-run-kind"]').innerText();
    expect(kind.startsWith("micro") && kind.includes("quiet"), `micro run: ${kind}`);
    expect((await micro.locator('[data-testid="reflection-where"]').innerText()).replace(/\s+/g, " ") === "server 77 channel 700", "where the micro run read");
    expect((await micro.locator('[data-testid="reflection-window"]').innerText()) === "2026-12-01 09:00 → 2026-12-01 09:40", "the micro run's window");
    expect((await micro.locator('[data-testid="reflection-messages"]').innerText()) === "14", "messages read");
    expect((await micro.locator('[data-testid="reflection-counts"]').innerText()) === "2 / 0 / 1", "written / merged / refused");
    expect((await micro.locator('[data-testid="reflection-cost"]').innerText()) === "$0.0031", "cost");
    await micro.locator('[data-testid="reflection-problems"] summary', { hasText: "1 noted" }).click();
    await micro.locator('[data-testid="reflection-problems"] li', { hasText: "refused: not remembered: it reads as a secret" }).waitFor();
    expect((await daily.locator('[data-testid="reflection-problems"]').count()) === 0, "the daily run shows notes it has not");
    const written = micro.locator('[data-testid="reflection-fact"]');
    const gone = await written.nth(0).innerText();
    expect(gone === `#${ottersId} (forgotten since)`, `the deleted fact: ${gone}`);
    expect((await written.nth(1).innerText()).includes("plays chess"), `the other fact: ${await written.nth(1).innerText()}`);
    await shot("memory-reflections");
    await written.nth(1).locator('[data-testid="reflection-fact-link"]').click();
    await page.locator('[data-testid="memory-fact"].highlight', { hasText: "plays chess" }).waitFor();
    expect((await byId("memory-owner").inputValue()) === "user:1002", "the link did not filter by the fact's owner");
  });

  await step("a server's journal for a day lists its lines; reflect now says why it cannot run", async () => {
    const today = new Date().toISOString().slice(0, 10);
    await byId("reflect-guild").fill("77");
    await byId("reflect-day").fill(today);
    await byId("journal-read").click();
    const lines = byId("journal-lines");
    await lines.waitFor();
    const text = await lines.innerText();
    expect(text.includes("| alice (1001) | [guild:77 channel:700 message:5001] I love otters so much"), `journal: ${text}`);
    expect(!text.includes("alice loves otters"), "the deleted message is in the journal");
    await shot("memory-journal");
    await byId("reflect-day").fill("");
    await byId("reflect-channel").fill("700");
    await byId("reflect-now").click();
    await page.locator('[data-testid="reflect-outcome"]', { hasText: "the reflector is not running" }).waitFor();
  });
});
