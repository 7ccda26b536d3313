"""What the inner model reads of a page: the snapshot text format, without I/O.

`SNAPSHOT_SCRIPT` runs in the page (Playwright's ``page.evaluate``) and returns a plain dict:
title, URL, visible text, scroll position and the visible interactive elements, each numbered
and marked with a ``data-clanker-ref`` attribute so a later click or type finds it again by
that number (`ref_selector`). `format_snapshot` turns the dict into the text the model gets::

    Title: Otter facts
    URL: http://site.test/otters
    Scrolled: 0 of 1400 px (viewport 720)

    Text (first 3000 characters):
    …

    Elements:
    [1] link "Next page" -> /next
    [2] textbox "Search" name=q value=""
    [3] button "Go"

Refused requests (the guard's words) are listed after the elements, so the model knows why a
page is missing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["SNAPSHOT_SCRIPT", "format_snapshot", "ref_selector"]

SNAPSHOT_SCRIPT = r"""
() => {
  const sel = 'a[href], button, input:not([type=hidden]), textarea, select, summary, '
    + '[role=button], [role=link], [role=checkbox], [role=tab], [onclick], [contenteditable=true]';
  document.querySelectorAll('[data-clanker-ref]')
    .forEach(e => e.removeAttribute('data-clanker-ref'));
  const clean = s => (s || '').replace(/\s+/g, ' ').trim().slice(0, 80);
  const out = [];
  let n = 0;
  for (const el of document.querySelectorAll(sel)) {
    const r = el.getBoundingClientRect();
    const st = getComputedStyle(el);
    const hidden = st.visibility === 'hidden' || st.display === 'none';
    if ((r.width === 0 && r.height === 0) || hidden) continue;
    n += 1;
    el.setAttribute('data-clanker-ref', String(n));
    const tag = el.tagName.toLowerCase();
    const labelled = el.labels && el.labels.length ? el.labels[0].innerText : '';
    const label = clean(el.getAttribute('aria-label') || labelled || el.innerText
      || el.getAttribute('placeholder') || el.getAttribute('title') || el.getAttribute('alt')
      || (tag === 'input' && (el.type === 'submit' || el.type === 'button') ? el.value : ''));
    const field = tag === 'input' || tag === 'textarea' || tag === 'select';
    out.push({ref: n, tag, type: (el.getAttribute('type') || '').toLowerCase(),
      role: el.getAttribute('role') || '', name: el.getAttribute('name') || '', label,
      value: field && el.type !== 'submit' && el.type !== 'button' ? clean(String(el.value)) : null,
      href: tag === 'a' ? (el.getAttribute('href') || '') : ''});
  }
  return {title: document.title || '', url: location.href,
    text: document.body ? document.body.innerText : '', elements: out,
    scroll_y: Math.round(window.scrollY), height: document.documentElement.scrollHeight,
    viewport: window.innerHeight};
}
"""


def ref_selector(ref: int) -> str:
    """The CSS selector of element ``ref`` of the latest snapshot."""
    return f'[data-clanker-ref="{int(ref)}"]'


def _kind(element: Mapping[str, Any]) -> str:
    tag = str(element.get("tag", ""))
    kind = str(element.get("type", ""))
    role = str(element.get("role", ""))
    if role:
        return role
    if tag == "a":
        return "link"
    if tag == "button" or (tag == "input" and kind in ("submit", "button", "reset")):
        return "button"
    if tag == "input" and kind in ("checkbox", "radio"):
        return kind
    if tag in ("input", "textarea"):
        return "textbox"
    if tag == "select":
        return "select"
    return tag or "element"


def _element_line(element: Mapping[str, Any]) -> str:
    line = f'[{element.get("ref")}] {_kind(element)} "{element.get("label") or ""}"'
    name = element.get("name")
    if name:
        line += f" name={name}"
    value = element.get("value")
    if value is not None:
        line += f' value="{value}"'
    href = element.get("href")
    if href:
        line += f" -> {str(href)[:120]}"
    return line


def _visible_text(text: str) -> str:
    lines = (re.sub(r"[ \t\u00a0]+", " ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def format_snapshot(
    raw: Mapping[str, Any],
    *,
    max_chars: int,
    max_elements: int,
    url: str | None = None,
    refused: Sequence[str] = (),
) -> str:
    """The snapshot text of ``raw`` (what `SNAPSHOT_SCRIPT` returned). ``url`` overrides the
    page's own (the final URL after redirects the guard followed); ``refused`` lists the
    requests the guard refused since the last step."""
    text = _visible_text(str(raw.get("text", "")))
    cut = len(text) > max_chars
    lines = [f"Title: {raw.get('title') or '(none)'}", f"URL: {url or raw.get('url', '')}"]
    height, viewport = raw.get("height"), raw.get("viewport")
    if isinstance(height, int) and isinstance(viewport, int) and height > viewport:
        lines.append(f"Scrolled: {raw.get('scroll_y', 0)} of {height} px (viewport {viewport})")
    lines.append("")
    if cut:
        lines.append(f"Text (first {max_chars} characters; browser_extract shows more):")
    else:
        lines.append("Text:")
    lines.append(text[:max_chars] if text else "(no visible text)")
    elements = list(raw.get("elements") or [])
    lines.append("")
    if elements:
        lines.append("Elements:")
        lines.extend(_element_line(e) for e in elements[:max_elements])
        if len(elements) > max_elements:
            lines.append(f"(… {len(elements) - max_elements} more elements not listed)")
    else:
        lines.append("Elements: none")
    if refused:
        lines.append("")
        lines.append("Refused requests:")
        lines.extend(f"- {reason}" for reason in refused)
    return "\n".join(lines)
