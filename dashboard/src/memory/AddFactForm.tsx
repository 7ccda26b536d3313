// Adding a fact (POST /api/memory/facts): for a person (their user id), a server or the bot
// itself, with a type and a confidence. The memory service's write policy checks it in strict
// mode, as a tool write: a refusal's reason is shown and the form stays open. A guild
// `guidance` or `behavioral` fact is a rule for the bot in that server (it may read as an
// instruction); a `self` fact is what the bot knows about itself.

import { useState } from "react";
import { api } from "../api/client";
import { FACT_TYPES } from "../api/types";
import type { GuildView, MemoryAdded, MemoryFactNew } from "../api/types";

type Scope = "user" | "guild" | "self";

/** The request body for the form's values (the id trimmed; confidence left out when blank). */
export function newFactBody(scope: Scope, id: string, fact: string, type: string, confidence: string): MemoryFactNew {
  const body: MemoryFactNew = { fact, type };
  if (confidence.trim() !== "") body.confidence = Number(confidence);
  if (scope === "user") body.user_id = id.trim();
  else if (scope === "guild") body.guild_id = id.trim();
  else body.owner = "self";
  return body;
}

/** The form's starting owner: the owner the view is filtered by, else a person. */
function initialOwner(owner: string): [Scope, string] {
  const [scope, id] = owner.split(":");
  if (scope === "user" || scope === "guild") return [scope, id];
  if (owner === "self") return ["self", ""];
  return ["user", ""];
}

export function AddFactForm({
  owner,
  guilds,
  onAdded,
  onRefused,
  onClose,
}: {
  owner: string;
  guilds: GuildView[];
  onAdded: (done: MemoryAdded) => void;
  onRefused: (reason: string) => void;
  onClose: () => void;
}) {
  const [start] = useState(() => initialOwner(owner));
  const [scope, setScope] = useState<Scope>(start[0]);
  const [id, setId] = useState(start[1]);
  const [fact, setFact] = useState("");
  const [type, setType] = useState("other");
  const [confidence, setConfidence] = useState("0.72");
  const [busy, setBusy] = useState(false);

  const save = async () => {
    setBusy(true);
    try {
      const done = await api.post<MemoryAdded>("/api/memory/facts", newFactBody(scope, id, fact, type, confidence));
      setFact("");
      onAdded(done);
    } catch (e) {
      // the policy's reason, e.g. "not remembered: it reads as an instruction to the bot …"
      onRefused(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form
      className="memory-add"
      data-testid="memory-add-form"
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      <label>
        about{" "}
        <select value={scope} onChange={(e) => setScope(e.target.value as Scope)} data-testid="memory-add-scope">
          <option value="user">a person</option>
          <option value="guild">a server</option>
          <option value="self">the bot itself</option>
        </select>
      </label>{" "}
      {scope === "user" ? (
        <input value={id} onChange={(e) => setId(e.target.value)} placeholder="user id" size={20} data-testid="memory-add-id" aria-label="user id" />
      ) : null}
      {scope === "guild" ? (
        <>
          <input value={id} onChange={(e) => setId(e.target.value)} placeholder="server id" size={20} list="memory-add-guilds" data-testid="memory-add-id" aria-label="server id" />
          <datalist id="memory-add-guilds">
            {guilds.map((g) => (
              <option key={g.id} value={g.id}>
                {g.name}
              </option>
            ))}
          </datalist>
        </>
      ) : null}{" "}
      <input value={fact} onChange={(e) => setFact(e.target.value)} placeholder="the fact, e.g. loves otters" size={40} data-testid="memory-add-text" aria-label="fact" />{" "}
      <select value={type} onChange={(e) => setType(e.target.value)} data-testid="memory-add-type" aria-label="type" title="guidance / behavioral: a server's rules for the bot">
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
        data-testid="memory-add-confidence"
        aria-label="confidence"
        style={{ width: "5em" }}
      />{" "}
      <button className="small" data-testid="memory-add-save" disabled={busy || fact.trim() === ""}>
        Remember
      </button>{" "}
      <button type="button" className="secondary small" data-testid="memory-add-cancel" onClick={onClose}>
        Close
      </button>
    </form>
  );
}
