// The operator's "Check now": POST /api/initiative/check asks the initiative actor to run its
// gates for every server at once, as its 10-minute tick does (and, when they allow it, the
// model decides and clanker may post). A model call may be in it, so it can take a while; the
// outcome of each server is shown, and the view reloads its decisions afterwards.

import { useState } from "react";
import { api } from "../api/client";
import type { CheckOutcome, InitiativeCheck } from "../api/types";

type Result = { ok: true; check: InitiativeCheck; at: string } | { ok: false; error: string; at: string };

/** What an outcome word means, for the operator. */
function meaning(outcome: string): string {
  if (outcome === "post") return "posted; the post is in the decisions";
  if (outcome === "hold") return "the model held a thought for a later check";
  if (outcome === "drop") return "the model dropped its thought";
  if (outcome.startsWith("skip ")) return `held back by the ${outcome.slice(5)} gate`;
  return "";
}

function Outcome({ o }: { o: CheckOutcome }) {
  const why = meaning(o.outcome);
  return (
    <li data-testid="initiative-check-outcome" data-guild-id={o.guild_id} data-outcome={o.outcome}>
      {o.guild_name ?? o.guild_id}: <strong>{o.outcome}</strong>
      {why ? <span className="muted"> — {why}</span> : null}
    </li>
  );
}

export function CheckNow({ onChecked }: { onChecked: () => void }) {
  const [checking, setChecking] = useState(false);
  const [result, setResult] = useState<Result | null>(null);

  const check = async () => {
    setChecking(true);
    setResult(null);
    const at = new Date().toISOString().slice(11, 19) + " UTC";
    try {
      const answer = await api.post<InitiativeCheck>("/api/initiative/check", {});
      setResult({ ok: true, check: answer, at });
    } catch (e) {
      setResult({ ok: false, error: e instanceof Error ? e.message : String(e), at });
    } finally {
      setChecking(false);
      onChecked();
    }
  };

  return (
    <>
      <div className="check-now">
        <button data-testid="initiative-check" disabled={checking} onClick={() => void check()}>
          {checking ? "Checking…" : "Check now"}
        </button>
        <span className="muted">
          {checking
            ? "running the initiative gates, and the model if they allow it (this can take a minute)"
            : "run the initiative gates for every server now, as the 10-minute check does; clanker may post"}
        </span>
      </div>
      {result ? (
        <div className={result.ok ? "banner" : "banner warn"} data-testid="initiative-check-result" data-ok={result.ok ? "true" : "false"}>
          {result.ok ? (
            <>
              Checked at {result.at}:
              {result.check.outcomes.length ? (
                <ul className="check-outcomes">
                  {result.check.outcomes.map((o) => (
                    <Outcome key={o.guild_id} o={o} />
                  ))}
                </ul>
              ) : (
                <> {result.check.detail}</>
              )}
            </>
          ) : (
            <>
              Check failed at {result.at}: {result.error}
            </>
          )}
        </div>
      ) : null}
    </>
  );
}
