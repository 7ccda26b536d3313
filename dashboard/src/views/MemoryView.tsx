// Memory: what clanker remembers (GET /api/memory), filtered by owner (a person, a server, the
// bot itself) and state (active, archived), or searched: ranked as the bot recalls
// (GET /api/memory/recall, with each fact's score) or by words only (FTS5). Each fact's evidence
// expands under it (memory/EvidencePanel); a fact can be added (memory/AddFactForm); the
// reflection runs are listed below (memory/ReflectionsPanel). Each fact can be edited inline
// (PATCH /api/memory/facts/<id>: the memory service's write policy checks it, and a refusal's
// reason is shown), archived or restored (POST .../archive, .../unarchive)
// and deleted for good (DELETE /api/memory/facts/<id>, after a confirmation); every fact of the
// chosen owner can be purged after typing its key (POST /api/memory/purge). Facts learned in a
// DM and archived facts are marked. A line says which model embeds the facts and, after a change
// of model (memory.embedding), how far the background re-embedding is (GET /api/memory/embedding).

import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { api, query } from "../api/client";
import { FACT_TYPES } from "../api/types";
import type {
  GuildView,
  MemoryAdded,
  MemoryEdited,
  MemoryEmbedding,
  MemoryFact,
  MemoryFactEdit,
  MemoryFacts,
  MemoryForgotten,
  MemoryPurgeBody,
  MemoryPurged,
  MemoryRecall,
  RankedMemoryFact,
} from "../api/types";
import { AddFactForm } from "../memory/AddFactForm";
import { EvidencePanel } from "../memory/EvidencePanel";
import { ownerLabel } from "../memory/labels";
import { RecallNote } from "../memory/RecallNote";
import { ReflectionsPanel } from "../memory/ReflectionsPanel";
import { embeddingLine, nextPoll } from "./embeddingLine";

export { ownerLabel };

type Outcome = { ok: boolean; text: string } | null;

type RowActions = {
  busy: boolean;
  onForget: (f: MemoryFact) => void;
  onArchive: (f: MemoryFact) => void;
  onEdit: (f: MemoryFact, edit: MemoryFactEdit) => Promise<boolean>;
};

/** The embeddings line, asked again every second while a re-embedding catches up. */
function EmbeddingStatus() {
  const [status, setStatus] = useState<MemoryEmbedding | null>(null);
  const [error, setError] = useState("");
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    const ask = async () => {
      let next: MemoryEmbedding | null = null;
      try {
        next = await api.get<MemoryEmbedding>("/api/memory/embedding");
        if (stopped) return;
        setStatus(next);
        setError("");
      } catch (e) {
        if (stopped) return;
        setError(e instanceof Error ? e.message : String(e));
      }
      timer = setTimeout(() => void ask(), nextPoll(next));
    };
    void ask();
    return () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
    };
  }, []);
  if (status === null) {
    return error ? (
      <p className="muted" data-testid="memory-embedding" data-state="unknown">
        embeddings: {error}
      </p>
    ) : null;
  }
  const line = embeddingLine(status);
  return (
    <>
      <p className="muted memory-embedding" data-testid="memory-embedding" data-state={line.state} title={status.model}>
        {line.text}
        {status.last_error ? (
          <span className="warn-text" data-testid="memory-embedding-error">
            {" "}
            — last error: {status.last_error}
          </span>
        ) : null}
      </p>
      {status.setting_problem ? (
        <div className="banner warn" data-testid="memory-embedding-problem">
          The settings name another embedding model, not in use: {status.setting_problem}
        </div>
      ) : null}
    </>
  );
}

/** The purge request naming ``owner`` (an owner key), confirmed with what the operator typed. */
export function purgeBody(owner: string, typed: string, messages = false): MemoryPurgeBody {
  const [scope, id] = owner.split(":");
  const said = messages ? { messages: true } : {};
  if (scope === "guild") return { guild_id: id, confirm: typed, ...said };
  if (scope === "user") return { user_id: id, confirm: typed, ...said };
  return { owner, confirm: typed };
}

/** Only the fields the operator changed (the API leaves absent ones as they are). */
export function editOf(f: MemoryFact, text: string, type: string, confidence: string): MemoryFactEdit {
  const edit: MemoryFactEdit = {};
  if (text !== f.fact) edit.fact = text;
  if (type !== f.type) edit.type = type;
  const c = Number(confidence);
  if (confidence.trim() !== "" && c !== f.confidence) edit.confidence = c;
  return edit;
}

function EditForm({ f, busy, onSave, onCancel }: { f: MemoryFact; busy: boolean; onSave: (edit: MemoryFactEdit) => void; onCancel: () => void }) {
  const [text, setText] = useState(f.fact);
  const [type, setType] = useState(f.type);
  const [confidence, setConfidence] = useState(String(f.confidence));
  return (
    <form
      className="memory-edit"
      data-testid="memory-edit-form"
      onSubmit={(e) => {
        e.preventDefault();
        onSave(editOf(f, text, type, confidence));
      }}
    >
      <input value={text} onChange={(e) => setText(e.target.value)} size={48} data-testid="memory-edit-text" aria-label="fact" />{" "}
      <select value={type} onChange={(e) => setType(e.target.value)} data-testid="memory-edit-type" aria-label="type">
        {FACT_TYPES.map((t) => (
          <option key={t} value={t}>
            {t}
          </option>
        ))}
      </select>{" "}
      <input
        type="number"
        min={0}
        max={1}
        step={0.01}
        value={confidence}
        onChange={(e) => setConfidence(e.target.value)}
        data-testid="memory-edit-confidence"
        aria-label="confidence"
        style={{ width: "5em" }}
      />{" "}
      <button className="small" data-testid="memory-edit-save" disabled={busy}>
        Save
      </button>{" "}
      <button type="button" className="secondary small" data-testid="memory-edit-cancel" onClick={onCancel}>
        Cancel
      </button>
    </form>
  );
}

function FactRow({ f, label, actions, highlighted }: { f: MemoryFact | RankedMemoryFact; label: string; actions: RowActions; highlighted: boolean }) {
  const [confirming, setConfirming] = useState(false);
  const [editing, setEditing] = useState(false);
  const [showEvidence, setShowEvidence] = useState(false);
  const { busy } = actions;
  const ranked = "score" in f;
  const classes = [f.active ? "" : "archived muted", highlighted ? "highlight" : ""].filter(Boolean).join(" ");
  return (
    <>
    <tr id={`memory-fact-${f.id}`} data-testid="memory-fact" data-fact-id={f.id} data-active={f.active ? "true" : "false"} className={classes}>
      {ranked ? (
        <td className="memory-score" data-testid="memory-fact-score" title="the recall ranking's score (hybrid, after decay)">
          {f.score.toFixed(3)}
        </td>
      ) : null}
      <td data-testid="memory-fact-owner">{label}</td>
      <td>
        {editing ? (
          <EditForm
            f={f}
            busy={busy}
            onCancel={() => setEditing(false)}
            onSave={(edit) => {
              void actions.onEdit(f, edit).then((saved) => {
                if (saved) setEditing(false);
              });
            }}
          />
        ) : (
          <span data-testid="memory-fact-text">{f.fact}</span>
        )}{" "}
        {f.learned_in_dm ? (
          <span className="badge restarting" data-testid="memory-fact-dm" title="never shown in a server's prompt">
            learned in a DM
          </span>
        ) : null}{" "}
        {!f.active ? (
          <span className="badge stopped" data-testid="memory-fact-archived" title="kept, never recalled">
            archived
          </span>
        ) : null}
      </td>
      <td className="muted" data-testid="memory-fact-type">
        {f.type}
      </td>
      <td className="muted" data-testid="memory-fact-confidence">
        {f.confidence.toFixed(2)}
      </td>
      <td className="muted" title={`created ${f.created_at}`}>
        {f.updated_at.slice(0, 16).replace("T", " ")}
      </td>
      <td className="memory-actions">
        <button
          className="secondary small"
          data-testid="memory-evidence-toggle"
          aria-expanded={showEvidence}
          title={f.evidence_ids.length ? `learned from ${f.evidence_ids.length} message(s)` : "no evidence messages"}
          onClick={() => setShowEvidence(!showEvidence)}
        >
          Evidence ({f.evidence_ids.length})
        </button>{" "}
        {!editing ? (
          <>
            <button className="secondary small" data-testid="memory-edit" disabled={busy} onClick={() => setEditing(true)}>
              Edit
            </button>{" "}
          </>
        ) : null}
        <button className="secondary small" data-testid={f.active ? "memory-archive" : "memory-unarchive"} disabled={busy} onClick={() => actions.onArchive(f)}>
          {f.active ? "Archive" : "Unarchive"}
        </button>{" "}
        {confirming ? (
          <>
            <button className="danger small" data-testid="memory-forget-confirm" disabled={busy} onClick={() => actions.onForget(f)}>
              Delete for good
            </button>{" "}
            <button className="secondary small" data-testid="memory-forget-cancel" onClick={() => setConfirming(false)}>
              Cancel
            </button>
          </>
        ) : (
          <button className="secondary small" data-testid="memory-forget" disabled={busy} onClick={() => setConfirming(true)}>
            Delete
          </button>
        )}
      </td>
    </tr>
    {showEvidence ? (
      <tr className="memory-evidence-row" data-testid="memory-evidence-row" data-fact-id={f.id}>
        <td colSpan={ranked ? 7 : 6}>
          <EvidencePanel factId={f.id} />
        </td>
      </tr>
    ) : null}
    </>
  );
}

export function MemoryView() {
  const [memory, setMemory] = useState<MemoryFacts | null>(null);
  const [ranked, setRanked] = useState<MemoryRecall | null>(null);
  const [mode, setMode] = useState<"recall" | "words">("recall");
  const [guilds, setGuilds] = useState<GuildView[]>([]);
  const [guildNames, setGuildNames] = useState<Map<string, string>>(new Map());
  const [adding, setAdding] = useState(false);
  const [highlight, setHighlight] = useState<number | null>(null);
  const [changes, setChanges] = useState(0); // bumped after each change: the runs panel reloads
  const [owner, setOwner] = useState("");
  const [state, setState] = useState("all");
  const [typedOwner, setTypedOwner] = useState("");
  const [purgeMessages, setPurgeMessages] = useState(false);
  const [typed, setTyped] = useState("");
  const [search, setSearch] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome>(null);
  const [purging, setPurging] = useState(false);

  const latest = useRef(0); // only the newest request's answer is shown
  const load = useCallback(async () => {
    const asked = ++latest.current;
    const rankedSearch = search !== "" && mode === "recall";
    try {
      // the list also brings the owners for the filter (one row is enough beside a ranked search)
      const listed = await api.get<MemoryFacts>(
        "/api/memory" + query({ owner, q: rankedSearch ? "" : search, state: search ? "" : state, limit: rankedSearch ? 1 : 500 }),
      );
      const found = rankedSearch ? await api.get<MemoryRecall>("/api/memory/recall" + query({ owner, q: search, limit: 50 })) : null;
      if (asked !== latest.current) return;
      setMemory(listed);
      setRanked(found);
      setError("");
    } catch (e) {
      if (asked === latest.current) setError(e instanceof Error ? e.message : String(e));
    }
  }, [owner, search, state, mode]);

  useEffect(() => {
    void load();
  }, [load]);

  useEffect(() => {
    api
      .get<GuildView[]>("/api/guilds")
      .then((known) => {
        setGuilds(known);
        setGuildNames(new Map(known.map((g) => [g.id, g.name])));
      })
      .catch(() => undefined);
  }, []);

  const added = (done: MemoryAdded) => {
    const whose = ownerLabel(done.fact.owner, guildNames);
    setOutcome({ ok: true, text: done.merged ? `Already remembered: merged into fact ${done.fact.id} of ${whose}.` : `Added fact ${done.fact.id} to ${whose}.` });
    setHighlight(done.fact.id);
    setChanges((n) => n + 1);
    void load();
  };

  const showFact = (id: number, factOwner: string) => {
    // the fact's owner, every state, no search: its row is listed
    setOwner(factOwner);
    setState("all");
    setSearch("");
    setTyped("");
    setHighlight(id);
  };

  const forget = async (f: MemoryFact) => {
    setBusy(true);
    try {
      const done = await api.del<MemoryForgotten>(`/api/memory/facts/${f.id}`);
      setOutcome({ ok: true, text: `Forgot fact ${done.id} of ${ownerLabel(done.owner, guildNames)}.` });
    } catch (e) {
      setOutcome({ ok: false, text: e instanceof Error ? e.message : String(e) });
    } finally {
      setBusy(false);
      setChanges((n) => n + 1);
      void load();
    }
  };

  const archive = async (f: MemoryFact) => {
    setBusy(true);
    const action = f.active ? "archive" : "unarchive";
    try {
      const done = await api.post<MemoryFact>(`/api/memory/facts/${f.id}/${action}`, {});
      setOutcome({ ok: true, text: `${done.active ? "Restored" : "Archived"} fact ${done.id} of ${ownerLabel(done.owner, guildNames)}.` });
    } catch (e) {
      setOutcome({ ok: false, text: e instanceof Error ? e.message : String(e) });
    } finally {
      setBusy(false);
      setChanges((n) => n + 1);
      void load();
    }
  };

  const edit = async (f: MemoryFact, change: MemoryFactEdit): Promise<boolean> => {
    if (Object.keys(change).length === 0) {
      setOutcome({ ok: true, text: `Fact ${f.id} unchanged.` });
      return true;
    }
    setBusy(true);
    try {
      const done = await api.patch<MemoryEdited>(`/api/memory/facts/${f.id}`, change);
      const what = done.changed.length ? done.changed.join(", ") : "nothing";
      setOutcome({ ok: true, text: `Edited fact ${done.fact.id} (${what}).` });
      setChanges((n) => n + 1);
      void load();
      return true;
    } catch (e) {
      // the policy's reason for refusing, e.g. "not remembered: it reads as an instruction …"
      setOutcome({ ok: false, text: e instanceof Error ? e.message : String(e) });
      return false;
    } finally {
      setBusy(false);
    }
  };

  const purge = async () => {
    setBusy(true);
    try {
      const done = await api.post<MemoryPurged>("/api/memory/purge", purgeBody(owner, typedOwner, purgeMessages));
      const said = purgeMessages ? ` and ${done.messages_deleted} messages` : "";
      setOutcome({ ok: true, text: `Forgot all ${done.deleted} facts${said} of ${ownerLabel(done.owner, guildNames)}.` });
      setOwner(""); // the list of everyone's facts loads on the change
      setChanges((n) => n + 1);
    } catch (e) {
      setOutcome({ ok: false, text: e instanceof Error ? e.message : String(e) });
      void load();
    } finally {
      setBusy(false);
      setPurging(false);
      setTypedOwner("");
      setPurgeMessages(false);
    }
  };

  useEffect(() => {
    if (highlight === null) return;
    document.getElementById(`memory-fact-${highlight}`)?.scrollIntoView({ block: "center" });
  }, [highlight, memory]);

  const owners = useMemo(() => memory?.owners ?? [], [memory]);
  const facts: (MemoryFact | RankedMemoryFact)[] = ranked ? ranked.facts : (memory?.facts ?? []);

  return (
    <section className="panel memory" data-testid="memory-view">
      <header className="panel-head">
        <h2>Memory</h2>
        <label>
          owner{" "}
          <select value={owner} onChange={(e) => {
              setOwner(e.target.value);
              setPurging(false);
              setTypedOwner("");
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
            <label>
              type <code>{owner}</code> to confirm{" "}
              <input value={typedOwner} onChange={(e) => setTypedOwner(e.target.value)} placeholder={owner} size={24} data-testid="memory-purge-typed" />
            </label>{" "}
            {owner !== "self" ? (
              <label title="the server's stored messages, or the ones this person wrote (the journal), with their vectors">
                <input type="checkbox" checked={purgeMessages} onChange={(e) => setPurgeMessages(e.target.checked)} data-testid="memory-purge-messages" />{" "}
                and what was said
              </label>
            ) : null}{" "}
            <button className="danger small" data-testid="memory-purge-confirm" disabled={busy || typedOwner !== owner} onClick={() => void purge()}>
              Forget all {owners.find((o) => o.owner === owner)?.facts ?? ""} facts for good
            </button>{" "}
            <button className="secondary small" data-testid="memory-purge-cancel" onClick={() => setPurging(false)}>
              Cancel
            </button>
          </span>
        ) : null}
        <label>
          show{" "}
          <select value={state} onChange={(e) => setState(e.target.value)} data-testid="memory-state" disabled={search !== ""} title={search ? "a search finds active facts only" : ""}>
            <option value="all">active and archived</option>
            <option value="active">active only</option>
            <option value="archived">archived only</option>
          </select>
        </label>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            setSearch(typed.trim());
          }}
        >
          <input value={typed} onChange={(e) => setTyped(e.target.value)} placeholder="search what it remembers" data-testid="memory-search" />{" "}
          <select value={mode} onChange={(e) => setMode(e.target.value as "recall" | "words")} data-testid="memory-search-mode" aria-label="ranking">
            <option value="recall">as clanker recalls</option>
            <option value="words">words only (FTS5)</option>
          </select>{" "}
          <button className="secondary small" data-testid="memory-search-go">
            Search
          </button>
        </form>
        {!adding ? (
          <button className="small" data-testid="memory-add" onClick={() => setAdding(true)}>
            Add a fact
          </button>
        ) : null}
      </header>
      <EmbeddingStatus />
      {adding ? (
        <AddFactForm
          owner={owner}
          guilds={guilds}
          onAdded={added}
          onRefused={(reason) => setOutcome({ ok: false, text: reason })}
          onClose={() => setAdding(false)}
        />
      ) : null}
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
      {ranked ? <RecallNote recall={ranked} guildNames={guildNames} /> : null}
      {memory && facts.length === 0 ? (
        <p className="muted" data-testid="memory-none">
          {ranked ? `No fact passes the recall's relevance gate for "${search}" (try words only).` : search ? `No fact matches "${search}".` : "Nothing remembered yet."}
        </p>
      ) : null}
      {facts.length > 0 ? (
        <table className="memory-facts">
          <thead>
            <tr>
              {ranked ? <th>score</th> : null}
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
              <FactRow
                key={f.id}
                f={f}
                label={ownerLabel(f.owner, guildNames)}
                actions={{ busy, onForget: (x) => void forget(x), onArchive: (x) => void archive(x), onEdit: edit }}
                highlighted={f.id === highlight}
              />
            ))}
          </tbody>
        </table>
      ) : null}
      <ReflectionsPanel guildNames={guildNames} refresh={changes} onShowFact={showFact} />
    </section>
  );
}
