// What clanker did on its own initiative: each post (with the reason, the source, a link to the
// message), each thought it held back, each skip and the gate that stopped it.

import type { InitiativeDecision } from "../api/types";
import { where } from "./JobsPanel";
import { relative, utc } from "./when";

const BADGE: Record<string, string> = { post: "sent", hold: "started", skip: "skipped" };
export type DecisionFilter = "" | "post" | "hold" | "skip";

function Decision({ d, now }: { d: InitiativeDecision; now: string }) {
  return (
    <li className={`trail ${BADGE[d.decision]}`} data-testid="decision-row" data-decision={d.decision} data-action-id={d.id}>
      <div className="trail-head">
        <span className={`badge ${BADGE[d.decision]}`} data-testid="decision-kind">
          {d.decision}
        </span>
        <span>{where(d.guild_name, d.guild_id, d.channel_name, d.channel_id)}</span>
        {d.gate ? (
          <span className="kind-tag" data-testid="decision-gate">
            gate: {d.gate}
          </span>
        ) : null}
        <time title={d.created_at}>
          {utc(d.created_at)} · {relative(d.created_at, now)}
        </time>
      </div>
      {d.content ? (
        <div className="incoming" data-testid="decision-content">
          {d.content}
        </div>
      ) : null}
      <div data-testid="decision-reason">
        <span className="muted">why: </span>
        {d.reason || <span className="muted">no reason given</span>}
      </div>
      {d.decision === "post" ? (
        <div className="muted small-text" data-testid="decision-post">
          {d.message_id ? (
            <>
              message <code>{d.message_id}</code>
              {d.jump_url ? (
                <>
                  {" "}
                  <a href={d.jump_url} target="_blank" rel="noreferrer" data-testid="decision-link">
                    open in Discord
                  </a>
                </>
              ) : null}
            </>
          ) : null}
          {d.reply_to ? (
            <>
              {" "}
              · replying to <code>{d.reply_to}</code>
            </>
          ) : null}
          {d.source ? <> · from {d.source}</> : null}
          {d.source_url ? (
            <>
              {" "}
              ·{" "}
              <a href={d.source_url} target="_blank" rel="noreferrer" data-testid="decision-source">
                {d.source_url}
              </a>
            </>
          ) : null}
          {d.media && d.media !== "none" ? <> · media {d.media}</> : null}
        </div>
      ) : null}
    </li>
  );
}

export function DecisionsPanel({
  decisions,
  now,
  filter,
  onFilter,
}: {
  decisions: InitiativeDecision[];
  now: string;
  filter: DecisionFilter;
  onFilter: (f: DecisionFilter) => void;
}) {
  return (
    <>
      <div className="panel-head">
        <h3>Initiative decisions</h3>
        <label>
          show{" "}
          <select value={filter} onChange={(e) => onFilter(e.target.value as DecisionFilter)} data-testid="decisions-filter">
            <option value="">posts, holds and skips</option>
            <option value="post">posts</option>
            <option value="hold">held thoughts</option>
            <option value="skip">skips</option>
          </select>
        </label>
      </div>
      {decisions.length === 0 ? (
        <p className="muted" data-testid="decisions-none">
          No initiative decisions logged yet.
        </p>
      ) : (
        <ul className="trails">
          {decisions.map((d) => (
            <Decision key={d.id} d={d} now={now} />
          ))}
        </ul>
      )}
    </>
  );
}
