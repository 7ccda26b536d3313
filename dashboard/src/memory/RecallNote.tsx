// What a ranked search covered: the memory service's Recall — the ranking that picks a reply
// prompt's relevant facts and answers memory_search (vectors, words and recency, decay, the
// relevance gate, MMR) — over every owner, one
// owner, or a server as a reply there could see it (its lore and rules, the bot's own facts and
// the people seen speaking there). DM-learned facts are included for the operator, marked.

import type { MemoryRecall } from "../api/types";
import { ownerLabel } from "./labels";

export function recallScopeText(r: MemoryRecall, guildNames: Map<string, string>): string {
  if (r.scope === "everyone") return `every owner (${r.owners.length})`;
  if (r.scope === "owner") return ownerLabel(r.owners[0], guildNames);
  const people = r.owners.filter((o) => o.startsWith("user:")).length;
  return `${ownerLabel(r.owners[0], guildNames)} as a reply there could see it: its lore, the bot's own facts and ${people} ${people === 1 ? "person" : "people"} seen there`;
}

export function RecallNote({ recall, guildNames }: { recall: MemoryRecall; guildNames: Map<string, string> }) {
  return (
    <p className="muted" data-testid="memory-recall-scope">
      Ranked as clanker recalls a reply's relevant facts (best first, with its score) over {recallScopeText(recall, guildNames)}.
      {recall.owners_left_out ? ` ${recall.owners_left_out} more ${recall.owners_left_out === 1 ? "owner was" : "owners were"} left out (a search covers at most 200): choose one in the owner filter.` : ""}
      {recall.used_vector ? "" : " The embedder was busy: ranked by words, confidence and recency alone."}
    </p>
  );
}
