// The discovery feed sources (setting initiative.feed_sources) and what each yielded: its last
// fetch (entries, fresh, never seen before, or the error) and the totals over the fetches read.

import type { InitiativeFeeds } from "../api/types";
import { relative, utc } from "./when";

export function FeedsPanel({ feeds, now }: { feeds: InitiativeFeeds; now: string }) {
  return (
    <>
      <div className="panel-head">
        <h3>Feed sources</h3>
        <span className="muted small-text">totals over the last {feeds.fetches_read} fetches</span>
      </div>
      {feeds.setting_problem ? (
        <div className="banner warn" data-testid="feeds-problem">
          {feeds.setting_problem}
        </div>
      ) : null}
      {feeds.sources.length === 0 ? (
        <p className="muted" data-testid="feeds-none">
          No feed sources configured (initiative.feed_sources) and none fetched yet.
        </p>
      ) : (
        <table className="initiative-feeds">
          <thead>
            <tr>
              <th>source</th>
              <th>last fetch</th>
              <th>yielded</th>
              <th>totals</th>
            </tr>
          </thead>
          <tbody>
            {feeds.sources.map((s) => (
              <tr key={s.key} data-testid="feed-row" data-feed-key={s.key}>
                <td>
                  <strong data-testid="feed-label">{s.label}</strong> {s.kind ? <span className="kind-tag">{s.kind}</span> : null}
                  <div className="muted small-text">
                    <code>{s.source}</code>
                    {s.configured ? "" : " · not in initiative.feed_sources"}
                  </div>
                  {s.problem ? <div className="warn-text small-text">{s.problem}</div> : null}
                </td>
                <td>
                  {s.last ? (
                    <>
                      <time title={s.last.at}>{utc(s.last.at)}</time>
                      <div className="muted small-text">{relative(s.last.at, now)}</div>
                    </>
                  ) : (
                    <span className="muted">never fetched</span>
                  )}
                </td>
                <td data-testid="feed-yield">
                  {s.last === null ? (
                    "—"
                  ) : s.last.error ? (
                    <span className="warn-text">failed: {s.last.error}</span>
                  ) : (
                    `${s.last.items} items, ${s.last.fresh} fresh, ${s.last.new} new`
                  )}
                </td>
                <td className="muted" data-testid="feed-totals">
                  {s.fetches} fetches{s.failed ? ` (${s.failed} failed)` : ""}, {s.new} new of {s.items}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
