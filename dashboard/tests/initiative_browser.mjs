// Browser test of the Initiative & Automations view: the scheduled jobs with their schedule in
// plain words and next fire, Pause / Resume (checked through the API too), Delete after a
// confirmation, the runs (one fired for real by the scheduler), the initiative decisions (a
// post with its reason and link, skips with their gates), the feed sources' yield, and Check
// now: with #random listed (through the settings API) the real initiative actor posts there,
// the result says so, the new decision shows with its reason, and the sandbox chat has the post.
//
//   DASHBOARD_URL=http://127.0.0.1:PORT DASHBOARD_TOKEN=... WEATHER_JOB=1 DOOMED_JOB=4 \
//   MORNING_JOB=3 RANDOM_CHANNEL=123 node tests/initiative_browser.mjs
//
// Optional: SCREENSHOT_DIR (initiative.png), CHROMIUM (default /usr/bin/chromium).
// tests/dashboard/test_browser_initiative.py makes the jobs and the log rows, runs this, and
// checks the Store.

import { expect, runBrowser } from "./harness.mjs";

const url = process.env.DASHBOARD_URL;
const token = process.env.DASHBOARD_TOKEN;
const shots = process.env.SCREENSHOT_DIR;
const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const weatherId = process.env.WEATHER_JOB;
const doomedId = process.env.DOOMED_JOB;
const morningId = process.env.MORNING_JOB;
const randomId = process.env.RANDOM_CHANNEL;
if (!url || !token || !weatherId || !doomedId || !morningId || !randomId) {
  console.error("set DASHBOARD_URL, DASHBOARD_TOKEN, WEATHER_JOB, DOOMED_JOB, MORNING_JOB and RANDOM_CHANNEL");
  process.exit(2);
}

await runBrowser({ url, token, shots, executablePath }, async ({ page, step, shot, byId, api }) => {
  const job = (id) => page.locator(`[data-testid="job-row"][data-job-id="${id}"]`);
  const weather = job(weatherId);
  const jobStatus = async (id) => {
    const { status, body } = await api("GET", "/api/initiative/jobs?status=active,paused,done,deleted");
    expect(status === 200, `GET /api/initiative/jobs answered ${status}`);
    return body.jobs.find((j) => String(j.id) === String(id))?.status;
  };

  await step("the Initiative tab lists the jobs with the schedule in words and the next fire", async () => {
    await page.goto(url + "/#token=" + token);
    await byId("tree-view").waitFor();
    await byId("tab-initiative").click();
    await byId("initiative-view").waitFor();
    await weather.waitFor();
    expect((await weather.locator('[data-testid="job-title"]').innerText()) === "weather", "the weather job's title");
    const sched = await weather.locator('[data-testid="job-schedule"]').innerText();
    expect(sched.startsWith("every day at 09:00 (Europe/Paris)"), `schedule shown: ${sched}`);
    const next = await weather.locator('[data-testid="job-next"]').innerText();
    expect(/\d{4}-\d\d-\d\d 09:00 CES?T/.test(next) && /\bin \d/.test(next), `next fire shown: ${next}`);
    expect((await weather.locator('[data-testid="job-task"]').innerText()) === "post a two-line weather summary for Paris", "task");
    const where = await weather.locator("td").nth(1).innerText();
    expect(where === "#general · Sandbox", `where: ${where}`);
    const tick = page.locator('[data-testid="job-row"]', { hasText: "initiative tick" });
    const tickSchedule = await tick.locator('[data-testid="job-schedule"]').innerText();
    expect(tickSchedule === "every 30 minute(s)", `the tick's schedule: ${tickSchedule}`);
    expect((await weather.locator('[data-testid="job-status"]').innerText()) === "active", "weather is active");
  });

  await step("Pause holds the job (the row and the API say paused); Resume makes it active again", async () => {
    await weather.locator('[data-testid="job-pause"]').click();
    await page.locator(`[data-testid="job-row"][data-job-id="${weatherId}"][data-status="paused"]`).waitFor();
    await page.locator('[data-testid="initiative-action-status"]', { hasText: `Paused job ${weatherId} 'weather': now paused.` }).waitFor();
    expect((await weather.locator('[data-testid="job-next"]').innerText()).includes("held while paused"), "a paused job's next fire is held");
    expect((await jobStatus(weatherId)) === "paused", "the API says paused");
    await weather.locator('[data-testid="job-resume"]').click();
    await page.locator(`[data-testid="job-row"][data-job-id="${weatherId}"][data-status="active"]`).waitFor();
    expect((await jobStatus(weatherId)) === "active", "the API says active again");
  });

  await step("Delete asks first, then the job is gone from the list (and deleted in the API)", async () => {
    const doomed = job(doomedId);
    await doomed.locator('[data-testid="job-delete"]').click();
    await doomed.locator('[data-testid="job-delete-cancel"]').click();
    await doomed.locator('[data-testid="job-delete"]').click();
    await doomed.locator('[data-testid="job-delete-confirm"]').click();
    await doomed.waitFor({ state: "detached" });
    await page.locator('[data-testid="initiative-action-status"]', { hasText: `Deleted job ${doomedId} 'old reminder': now deleted.` }).waitFor();
    expect((await jobStatus(doomedId)) === "deleted", "the API says deleted");
  });

  await step("the one-off fired by the scheduler shows as a run that posted", async () => {
    // Polled every 5 s: the run ends once the channel has posted.
    const run = page.locator(`[data-testid="run-row"][data-job-id="${morningId}"]`, { hasText: "sent" });
    await run.waitFor();
    expect((await run.locator('[data-testid="run-job"]').innerText()) === "good morning", "the run names its job");
    expect((await run.locator('[data-testid="run-outcome"]').innerText()) === "ok", "outcome ok");
    // The job filter: wait for the options to be there before choosing one.
    await byId("runs-job").locator(`option[value="${weatherId}"]`).waitFor({ state: "attached" });
    await byId("runs-job").selectOption(weatherId);
    await byId("runs-none").waitFor();
    await byId("runs-job").selectOption("");
    await run.waitFor();
  });

  await step("the decisions show a post with its reason and link, a hold, and skips with their gates", async () => {
    const post = page.locator('[data-testid="decision-row"][data-decision="post"]');
    await post.waitFor();
    const reason = await post.locator('[data-testid="decision-reason"]').innerText();
    expect(reason === "why: a fresh story the channel will like", `post reason: ${reason}`);
    const link = await post.locator('[data-testid="decision-link"]').getAttribute("href");
    expect(/^https:\/\/discord\.com\/channels\/\d+\/\d+\/5551234$/.test(link ?? ""), `post link: ${link}`);
    expect((await post.locator('[data-testid="decision-source"]').innerText()) === "https://otters.example/hands", "source url");
    const gates = await page.locator('[data-testid="decision-row"][data-decision="skip"] [data-testid="decision-gate"]').allInnerTexts();
    expect(gates.join(",") === "gate: min_gap,gate: daily_budget", `skip gates: ${gates.join(",")}`);
    const skip = page.locator('[data-testid="decision-row"][data-decision="skip"]', { hasText: "min_gap" });
    expect((await skip.locator('[data-testid="decision-reason"]').innerText()).includes("posted 12 min ago"), "skip reason");
    await page.locator('[data-testid="decision-row"][data-decision="hold"]', { hasText: "otter sanctuary" }).waitFor();
    await byId("decisions-filter").selectOption("skip");
    await post.waitFor({ state: "detached" });
    const kinds = await byId("decision-kind").allInnerTexts();
    expect(kinds.join(",") === "skip,skip", `filtered: ${kinds.join(",")}`);
    await byId("decisions-filter").selectOption("");
    await post.waitFor();
  });

  await step("the feed sources show what each fetch yielded", async () => {
    const python = page.locator('[data-testid="feed-row"][data-feed-key="reddit:python"]');
    await python.waitFor();
    const lastYield = await python.locator('[data-testid="feed-yield"]').innerText();
    expect(lastYield === "failed: r/python answered 429", `r/python's last fetch: ${lastYield}`);
    const totals = await python.locator('[data-testid="feed-totals"]').innerText();
    expect(totals === "2 fetches (1 failed), 4 new of 25", `r/python's totals: ${totals}`);
    const hn = page.locator('[data-testid="feed-row"][data-feed-key="hackernews:top"]');
    const hnYield = await hn.locator('[data-testid="feed-yield"]').innerText();
    expect(hnYield === "30 items, 30 fresh, 12 new", `hn's yield: ${hnYield}`);
    expect((await hn.locator('[data-testid="feed-label"]').innerText()) === "hacker news top", "hn's label");
  });

  const posted = "clanker here, on my own: hello #random!";

  await step("Check now, with #random listed and eagerness 100, posts: the result says post, the new decision shows its reason", async () => {
    const current = await api("GET", "/api/settings");
    expect(current.status === 200, `GET /api/settings answered ${current.status}`);
    const patch = { initiative: { channel_ids: [randomId], eagerness: 100, min_minutes_between_posts: 0 } };
    const saved = await api("PUT", "/api/settings", { expected_version: current.body.version, patch });
    expect(saved.status === 200, `PUT /api/settings answered ${saved.status}: ${JSON.stringify(saved.body)}`);
    const fresh = page.locator('[data-testid="decision-row"][data-decision="post"]', { hasText: posted });
    expect((await fresh.count()) === 0, "no post in #random before the check");
    await byId("initiative-check").click();
    // The answer waits for the actor (the gates, a model call, the send): wait for it.
    const result = page.locator('[data-testid="initiative-check-result"][data-ok="true"]');
    await result.waitFor({ timeout: 95_000 });
    const outcomes = result.locator('[data-testid="initiative-check-outcome"]');
    const said = await outcomes.allInnerTexts();
    expect(said.length === 1 && said[0].startsWith("Sandbox: post"), `the check's result: ${said.join(" | ")}`);
    expect((await outcomes.first().getAttribute("data-outcome")) === "post", "the outcome is post");
    expect(!(await byId("initiative-check").isDisabled()), "the button is ready again");
    // The decisions reload after the check: wait for the new row before reading it.
    await fresh.waitFor();
    const reason = await fresh.locator('[data-testid="decision-reason"]').innerText();
    expect(reason === "why: the sandbox test asked for a post in #random", `the new post's reason: ${reason}`);
    expect((await fresh.innerText()).includes("#random · Sandbox"), "the post names #random in Sandbox");
    const link = await fresh.locator('[data-testid="decision-link"]').getAttribute("href");
    expect(new RegExp(`^https://discord\\.com/channels/\\d+/${randomId}/\\d+$`).test(link ?? ""), `the new post's link: ${link}`);
    const kinds = await byId("decision-kind").allInnerTexts();
    expect(kinds[0] === "post", `the newest decision is the post: ${kinds.join(",")}`);
  });

  await step("a screenshot of the view", async () => {
    await page.setViewportSize({ width: 1360, height: 1100 });
    await shot("initiative");
  });

  await step("the post is in the sandbox's #random (the chat view)", async () => {
    await byId("tab-chat").click();
    await byId("chat-view").waitFor();
    await byId("chat-channel").locator(`option[value="${randomId}"]`).waitFor({ state: "attached" });
    await byId("chat-channel").selectOption(randomId);
    await page.locator('[data-testid="bot-message"]', { hasText: posted }).waitFor();
  });
});
