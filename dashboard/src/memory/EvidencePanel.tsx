// A fact's evidence (GET /api/memory/facts/<id>/evidence), shown under its row: the excerpt
// stored with it, where it was learned, and each message it was learned from with its author,
// time, channel and text — or that the message was deleted on Discord (its stored text shown
// struck through) or is not in the Store at all.

import { useEffect, useState } from "react";
import { api } from "../api/client";
import type { EvidenceMessage, MemoryEvidence } from "../api/types";
import { shortTime } from "./labels";

function where(m: EvidenceMessage): string {
  const channel = m.channel_name ? `#${m.channel_name}` : `channel ${m.channel_id}`;
  if (m.guild_id === null) return `a DM (${channel})`;
  return `${channel} in ${m.guild_name ?? `server ${m.guild_id}`}`;
}

function MessageLine({ m }: { m: EvidenceMessage }) {
  if (m.status === "unknown") {
    return (
      <li data-testid="memory-evidence-message" data-status="unknown" className="muted">
        message {m.id}: not in the Store (never seen, or not a message's id)
      </li>
    );
  }
  return (
    <li data-testid="memory-evidence-message" data-status={m.status}>
      <span data-testid="memory-evidence-author">{m.author_name}</span>
      {m.is_bot ? " (bot)" : ""}{" "}
      <span className="muted">
        · <time title={m.created_at ?? ""}>{shortTime(m.created_at)} UTC</time> ·{" "}
        <span data-testid="memory-evidence-where">{where(m)}</span>
        {m.jump_url ? (
          <>
            {" "}
            · <a href={m.jump_url} target="_blank" rel="noreferrer">open in Discord</a>
          </>
        ) : null}
      </span>
      {m.status === "deleted" ? (
        <span className="badge stopped" data-testid="memory-evidence-deleted" title="deleted on Discord; the Store kept its text">
          deleted
        </span>
      ) : null}
      <div className={m.status === "deleted" ? "evidence-text struck" : "evidence-text"} data-testid="memory-evidence-content">
        {m.content}
      </div>
    </li>
  );
}

export function EvidencePanel({ factId }: { factId: number }) {
  const [evidence, setEvidence] = useState<MemoryEvidence | null>(null);
  const [error, setError] = useState("");
  useEffect(() => {
    let live = true;
    api
      .get<MemoryEvidence>(`/api/memory/facts/${factId}/evidence`)
      .then((found) => live && setEvidence(found))
      .catch((e: unknown) => live && setError(e instanceof Error ? e.message : String(e)));
    return () => {
      live = false;
    };
  }, [factId]);
  if (error) return <div className="banner warn">{error}</div>;
  if (!evidence) return <span className="muted">loading the evidence…</span>;
  const learned = evidence.channel_id ? `learned in ${evidence.channel_name ? `#${evidence.channel_name}` : `channel ${evidence.channel_id}`}` : "";
  return (
    <div className="memory-evidence" data-testid="memory-evidence">
      {evidence.evidence_text ? (
        <div>
          <span className="muted">excerpt{learned ? ` (${learned})` : ""}:</span> <q data-testid="memory-evidence-text">{evidence.evidence_text}</q>
        </div>
      ) : learned ? (
        <div className="muted">{learned}</div>
      ) : null}
      {evidence.messages.length === 0 ? (
        <div className="muted" data-testid="memory-evidence-none">
          No evidence messages (written without any, e.g. added by the operator).
        </div>
      ) : (
        <ul className="memory-evidence-messages">
          {evidence.messages.map((m) => (
            <MessageLine key={m.id} m={m} />
          ))}
        </ul>
      )}
    </div>
  );
}
