// What the browser tests share: headless Chromium (Debian's `chromium` through playwright-core,
// a fresh profile of our own), named steps, and the end-of-run report the Python side reads
// ("N passed, F failed"; exit status 0 = all passed).

import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

export const WAIT = 30_000;

export function expect(condition, message) {
  if (!condition) throw new Error(message);
}

/** Run `steps(browser)` in a fresh headless Chromium, then report and exit. `browser` holds
 * the page and its context, `step(name, fn)`, `shot(name)` (a PNG in `shots`, if set),
 * `byId(testid)` and `api(method, path, body)` (with the token). `args`: more Chromium flags
 * (e.g. a fake microphone). */
export async function runBrowser({ url, token, shots, executablePath, args = [] }, steps) {
  if (shots) mkdirSync(shots, { recursive: true });
  const passed = [];
  const step = async (name, fn) => {
    const started = Date.now();
    try {
      await fn();
      passed.push(name);
      console.log(`ok   ${name} (${Date.now() - started} ms)`);
    } catch (error) {
      console.log(`FAIL ${name}: ${error?.stack ?? error}`);
      throw error;
    }
  };
  const api = async (method, path, body) => {
    const response = await fetch(url + path, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body ? { "Content-Type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: response.status, body: await response.json() };
  };
  const profile = mkdtempSync(join(tmpdir(), "clanker-chromium-"));
  // A persistent context is how playwright takes a fresh --user-data-dir of our own.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: executablePath ?? "/usr/bin/chromium",
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
      ...args,
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
    await steps({ page, context, step, shot, byId, api });
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
  console.log(`${passed.length} passed, ${failed ? 1 : 0} failed`);
  process.exit(failed ? 1 : 0);
}
