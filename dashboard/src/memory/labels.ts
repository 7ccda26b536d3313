// Names the Memory view shows: an owner key as words, a Store time as "2026-12-05 09:00".

/** A readable name for an owner key, using the guild names the directory knows. */
export function ownerLabel(owner: string, guildNames: Map<string, string>): string {
  if (owner === "self") return "the bot itself";
  const [scope, id] = owner.split(":");
  if (scope === "guild") return `server ${guildNames.get(id) ?? id}`;
  return `user ${id}`;
}

/** "2026-12-05 09:00" from the Store's "2026-12-05T09:00:00.000+00:00" (UTC); "—" for none. */
export function shortTime(iso: string | null): string {
  return iso ? iso.slice(0, 16).replace("T", " ") : "—";
}
