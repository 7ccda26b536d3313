// "Reflect now" and a server's journal (POST /api/memory/reflect, GET /api/memory/journal):
// pick a server (a known one from the list, or its id), then reflect on one channel's recent talk (its id) or on a day, or read that
// day's journal — the lines a reflection is shown, clanker's own marked `bot`, voice lines
// `voice`. A run's outcome is said in words; the runs table below reloads after it.

import { useState } from "react";
import { api, query } from "../api/client";

type Reflected = { outcome: string; detail: string; fact_ids: number[] };
type Journal = { guild_id: string; day: string; timezone: string; lines: string[]; truncated: boolean };

export function ReflectControls({
  guildNames,
  onReflected,
}: {
  guildNames: Map<string, string>;
  onReflected: () => void;
}) {
  const guilds = [...guildNames.entries()];
  const [guild, setGuild] = useState("");
  const [channel, setChannel] = useState("");
  const [day, setDay] = useState("");
  const [busy, setBusy] = useState(false);
  const [said, setSaid] = useState<{ ok: boolean; text: string } | null>(null);
  const [journal, setJournal] = useState<Journal | null>(null);
  const chosen = guild || guilds[0]?.[0] || "";

  async function reflect() {
    setBusy(true);
    setSaid(null);
    try {
      const body: Record<string, string> = { guild_id: chosen };
      if (channel.trim()) body.channel_id = channel.trim();
      if (day) body.day = day;
      const done = await api.post<Reflected>("/api/memory/reflect", body);
      const facts = done.fact_ids.length ? ` Facts: ${done.fact_ids.map((i) => `#${i}`).join(", ")}.` : "";
      setSaid({ ok: done.outcome !== "failed", text: `Reflection ${done.outcome}: ${done.detail}.${facts}` });
      onReflected();
    } catch (e) {
      setSaid({ ok: false, text: e instanceof Error ? e.message : String(e) });
    } finally {
      setBusy(false);
    }
  }

  async function read() {
    setSaid(null);
    try {
      setJournal(await api.get<Journal>("/api/memory/journal" + query({ guild_id: chosen, day: day || null })));
    } catch (e) {
      setSaid({ ok: false, text: e instanceof Error ? e.message : String(e) });
    }
  }

  return (
    <div className="memory-reflect" data-testid="memory-reflect">
      <div className="panel-head">
        <label>
          server{" "}
          <input
            data-testid="reflect-guild"
            list="reflect-guilds"
            value={chosen}
            placeholder="server id"
            onChange={(e) => setGuild(e.target.value.trim())}
          />
          <datalist id="reflect-guilds">
            {guilds.map(([id, name]) => (
              <option key={id} value={id}>
                {name}
              </option>
            ))}
          </datalist>
        </label>
        <label>
          channel id{" "}
          <input
            data-testid="reflect-channel"
            value={channel}
            placeholder="(a day instead)"
            onChange={(e) => setChannel(e.target.value)}
          />
        </label>
        <label>
          day{" "}
          <input data-testid="reflect-day" type="date" value={day} onChange={(e) => setDay(e.target.value)} />
        </label>
        <button data-testid="reflect-now" disabled={busy || !chosen} onClick={() => void reflect()}>
          {busy ? "Reflecting…" : "Reflect now"}
        </button>
        <button className="secondary" data-testid="journal-read" disabled={!chosen} onClick={() => void read()}>
          Read the journal
        </button>
      </div>
      {said ? (
        <div className={`banner ${said.ok ? "" : "warn"}`} data-testid="reflect-outcome">
          {said.text}
        </div>
      ) : null}
      {journal ? (
        <details open data-testid="journal">
          <summary>
            Journal of {guildNames.get(journal.guild_id) ?? journal.guild_id}, {journal.day} ({journal.timezone}):{" "}
            {journal.lines.length} lines{journal.truncated ? " (the first 2,000)" : ""}
          </summary>
          {journal.lines.length ? (
            <pre className="journal-lines" data-testid="journal-lines">
              {journal.lines.join("\n")}
            </pre>
          ) : (
            <p className="muted">Nothing was said that day.</p>
          )}
        </details>
      ) : null}
    </div>
  );
}
