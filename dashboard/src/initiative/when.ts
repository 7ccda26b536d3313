// Times in the Initiative view: the Store's UTC ISO stamps shown as "2026-12-05 09:00 UTC",
// and how far they are from the server's own "now" ("in 5 min", "3 h ago").

/** "2026-12-05 09:00 UTC" from the Store's "2026-12-05T09:00:00.000+00:00". */
export function utc(iso: string | null): string {
  return iso ? `${iso.slice(0, 16).replace("T", " ")} UTC` : "—";
}

function span(seconds: number): string {
  const s = Math.round(Math.abs(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 86_400) {
    const h = Math.floor(s / 3600);
    const m = Math.round((s % 3600) / 60);
    return m ? `${h} h ${m} min` : `${h} h`;
  }
  const d = Math.floor(s / 86_400);
  const h = Math.round((s % 86_400) / 3600);
  return h ? `${d} d ${h} h` : `${d} d`;
}

/** "in 5 min" or "3 h ago": ``iso`` relative to ``now`` (both ISO 8601). */
export function relative(iso: string, now: string): string {
  const seconds = (Date.parse(iso) - Date.parse(now)) / 1000;
  if (Number.isNaN(seconds)) return "";
  return seconds >= 0 ? `in ${span(seconds)}` : `${span(seconds)} ago`;
}

/** "1 h 30 min late" (a run's lateness), "" when on time (under a second). */
export function lateness(seconds: number): string {
  return seconds >= 1 ? `${span(seconds)} late` : "";
}
