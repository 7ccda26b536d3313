// Memory: what clanker remembers (GET /api/memory), filtered by owner (a person, a server, the
// bot itself) or searched (FTS5 over the facts' words); each fact can be forgotten for good
// (DELETE /api/memory/<id>, after a confirmation), and every fact of the chosen owner purged
// (POST /api/memory/purge, after a confirmation). Facts learned in a DM are marked.

import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { api, query } from "../api/client";
import type { GuildView, MemoryFact, MemoryFacts, MemoryForgotten, MemoryPurged } from "../api/types";

type Outcome = { ok: boolean; text: string } | null;

/** A readable name for an owner key, using the guild names the directory knows. */
export function ownerLabel(owner: string, guildNames: Map<string, string>): string {
  if (owner === "self") return "the bot itself";
  const [scope, id] = owner.split(":");
  if (scope === "guild") return `server ${guildNames.get(id) ?? id}`;
  return `user ${id}`;
}

function FactRow({ f, label, busy, onForget }: { f: MemoryFact; label: string; busy: boolean; onForget: (f: MemoryFact) => void }) {
  const [confirming, setConfirming] = useState(false);
  return (
    <tr data-testid="memory-fact" data-fact-id={f.id}>
      <td data-testid="memory-fact-owner">{label}</td>
      <td>
        <span data-testid="memory-fact-text">{f.fact}</span>{" "}
        {f.learned_in_dm ? (
          <span className="badge restarting" data-testid="memory-fact-dm" title="never shown in a server's prompt">
            learned in a DM
          </span>
        ) : null}{" "}
        {!f.active ? <span className="badge stopped">archived</span> : null}
      </td>
      <td className="muted">{f.type}</td>
      <td className="muted">{f.confidence.toFixed(2)}</td>
      <td className="muted" title={`created ${f.created_at}`}>
        {f.updated_at.slice(0, 16).replace("T", " ")}
      </td>
      <td>
        {confirming ? (
          <>
            <button className="danger small" data-testid="memory-forget-confirm" disabled={busy} onClick={() => onForget(f)}>
              Forget for good
            </button>{" "}
            <button className="secondary small" data-testid="memory-forget-cancel" onClick={() => setConfirming(false)}>
              Cancel
            </button>
          </>
        ) : (
          <button className="secondary small" data-testid="memory-forget" disabled={busy} onClick={() => setConfirming(true)}>
            Forget
          </button>
        )}
      </td>
    </tr>
  );
}

export function MemoryView() {
  const [memory, setMemory] = useState<MemoryFacts | null>(null);
  const [guildNames, setGuildNames] = useState<Map<string, string>>(new Map());
  const [owner, setOwner] = useState("");
  const [typed, setTyped] = useState("");
  const [search, setSearch] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome>(null);
  const [purging, setPurging] = useState(false);

  const latest = useRef(0); // only the newest request's answer is shown
  const load = useCallback(async () => {
    const asked = ++latest.current;
    try {
      const found = await api.get<MemoryFacts>("/api/memory" + query({ owner, q: search, limit: 500 }));
      if (asked !== latest.current) return;
      setMemory(found);
      setError("");
    } catch (e) {
      if (asked === latest.current) setError(e instanceof Error ? e.message : String(e));
    }
  }, [owner, search]);

  useEffect(() => {
    void load();
  }, [load]);

  useEffect(() => {
    api
      .get<GuildView[]>("/api/guilds")
      .then((guilds) => setGuildNames(new Map(guilds.map((g) => [g.id, g.name]))))
      .catch(() => undefined);
  }, []);

  const forget = async (f: MemoryFact) => {
    setBusy(true);
    try {
      const done = await api.del<MemoryForgotten>(`/api/memory/${f.id}`);
      setOutcome({ ok: true, text: `Forgot fact ${done.id} of ${ownerLabel(done.owner, guildNames)}.` });
    } catch (e) {
      setOutcome({ ok: false, text: e instanceof Error ? e.message : String(e) });
    } finally {
      setBusy(false);
      void load();
    }
  };

  const purge = async () => {
    setBusy(true);
    try {
      const done = await api.post<MemoryPurged>("/api/memory/purge", { owner });
      setOutcome({ ok: true, text: `Forgot all ${done.deleted} facts of ${ownerLabel(done.owner, guildNames)}.` });
      setOwner(""); // the list of everyone's facts loads on the change
    } catch (e) {
      setOutcome({ ok: false, text: e instanceof Error ? e.message : String(e) });
      void load();
    } finally {
      setBusy(false);
      setPurging(false);
    }
  };

  const owners = useMemo(() => memory?.owners ?? [], [memory]);
  const facts = memory?.facts ?? [];

  return (
    <section className="panel memory" data-testid="memory-view">
      <header className="panel-head">
        <h2>Memory</h2>
        <label>
          owner{" "}
          <select value={owner} onChange={(e) => {
              setOwner(e.target.value);
              setPurging(false);
            }} data-testid="memory-owner">
            <option value="">everyone</option>
            {owners.map((o) => (
              <option key={o.owner} value={o.owner}>
                {ownerLabel(o.owner, guildNames)} ({o.facts})
              </option>
            ))}
          </select>
        </label>
        {owner && !purging ? (
          <button className="danger small" data-testid="memory-purge" disabled={busy} onClick={() => setPurging(true)}>
            Forget everything about {ownerLabel(owner, guildNames)}
          </button>
        ) : null}
        {owner && purging ? (
          <span>
            <button className="danger small" data-testid="memory-purge-confirm" disabled={busy} onClick={() => void purge()}>
              Forget all {owners.find((o) => o.owner === owner)?.facts ?? ""} facts for good
            </button>{" "}
            <button className="secondary small" data-testid="memory-purge-cancel" onClick={() => setPurging(false)}>
              Cancel
            </button>
          </span>
        ) : null}
        <form
          onSubmit={(e) => {
            e.preventDefault();
            setSearch(typed.trim());
          }}
        >
          <input value={typed} onChange={(e) => setTyped(e.target.value)} placeholder="search the facts' words" data-testid="memory-search" />{" "}
          <button className="secondary small" data-testid="memory-search-go">
            Search
          </button>
        </form>
      </header>
      {error ? (
        <div className="banner warn" data-testid="memory-error">
          {error}
        </div>
      ) : null}
      {outcome ? (
        <div className={outcome.ok ? "banner" : "banner warn"} data-testid={outcome.ok ? "memory-action-status" : "memory-action-error"}>
          {outcome.text}
        </div>
      ) : null}
      {memory && facts.length === 0 ? (
        <p className="muted" data-testid="memory-none">
          {search ? `No fact matches "${search}".` : "Nothing remembered yet."}
        </p>
      ) : null}
      {facts.length > 0 ? (
        <table className="memory-facts">
          <thead>
            <tr>
              <th>whose</th>
              <th>fact</th>
              <th>type</th>
              <th>confidence</th>
              <th>updated</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {facts.map((f) => (
              <FactRow key={f.id} f={f} label={ownerLabel(f.owner, guildNames)} busy={busy} onForget={(x) => void forget(x)} />
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}
