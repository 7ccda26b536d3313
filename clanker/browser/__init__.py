"""The browser agent: ``browser_browse`` runs an inner model over a real headless Chromium.

* `policy` — sans-IO: the steps, their parsing, the budgets, the inner loop (`BrowseLoop`).
* `snapshot` — sans-IO: what the inner model reads of a page.
* `network` — every request of the browser through the SSRF guard's `GuardedFetcher`.
* `chromium` — Playwright over the system Chromium, on the trio-asyncio loop.
* `agent` — one task's inner model loop; `actor` — `BrowserAgent`, the session manager.
* `tool` — the ``browser_browse`` tool of the reply registry.

docs/tools.md, "Browser agent".
"""
