// Initiative & Automations: the scheduled jobs (GET /api/initiative/jobs) with Pause / Resume /
// Delete (POST /api/initiative/jobs/<id>/<action>, carried out by the scheduler), their recent
// runs (/api/initiative/runs), the operator's Check now (POST /api/initiative/check, carried out
// by the initiative actor), what clanker did on its own initiative and why
// (/api/initiative/decisions) and the discovery feeds' sources with what they yielded
// (/api/initiative/feeds). Polled every few seconds, and reloaded after each action.

import { useCallback, useEffect, useRef, useState } from "react";
import { api, query } from "../api/client";
import type { InitiativeDecisions, InitiativeFeeds, InitiativeJob, InitiativeJobs, InitiativeRuns, JobAction } from "../api/types";
import { CheckNow } from "../initiative/CheckNow";
import { type DecisionFilter, DecisionsPanel } from "../initiative/DecisionsPanel";
import { FeedsPanel } from "../initiative/FeedsPanel";
import { JobsPanel } from "../initiative/JobsPanel";
import { RunsPanel } from "../initiative/RunsPanel";

const POLL_MS = 5_000;
const DONE: Record<JobAction, string> = { pause: "Paused", resume: "Resumed", delete: "Deleted" };

type Outcome = { ok: boolean; text: string } | null;
type Loaded = { jobs: InitiativeJobs; runs: InitiativeRuns; decisions: InitiativeDecisions; feeds: InitiativeFeeds };

export function InitiativeView() {
  const [data, setData] = useState<Loaded | null>(null);
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome>(null);
  const [jobId, setJobId] = useState("");
  const [filter, setFilter] = useState<DecisionFilter>("");

  const latest = useRef(0); // only the newest load's answer is shown
  const load = useCallback(async () => {
    const asked = ++latest.current;
    try {
      const [jobs, runs, decisions, feeds] = await Promise.all([
        api.get<InitiativeJobs>("/api/initiative/jobs"),
        api.get<InitiativeRuns>("/api/initiative/runs" + query({ job_id: jobId, limit: 50 })),
        api.get<InitiativeDecisions>("/api/initiative/decisions" + query({ decision: filter, limit: 50 })),
        api.get<InitiativeFeeds>("/api/initiative/feeds"),
      ]);
      if (asked !== latest.current) return;
      setData({ jobs, runs, decisions, feeds });
      setError("");
    } catch (e) {
      if (asked === latest.current) setError(e instanceof Error ? e.message : String(e));
    }
  }, [jobId, filter]);

  useEffect(() => {
    void load();
    const timer = window.setInterval(load, POLL_MS);
    return () => window.clearInterval(timer);
  }, [load]);

  const act = async (job: InitiativeJob, action: JobAction) => {
    setBusy(true);
    setOutcome(null);
    try {
      const after = await api.post<InitiativeJob>(`/api/initiative/jobs/${job.id}/${action}`, {});
      setOutcome({ ok: true, text: `${DONE[action]} job ${after.id} '${after.title}': now ${after.status}.` });
      if (action === "delete" && jobId === String(job.id)) setJobId("");
    } catch (e) {
      setOutcome({ ok: false, text: e instanceof Error ? e.message : String(e) });
    } finally {
      setBusy(false);
      void load();
    }
  };

  const now = data?.jobs.now ?? new Date().toISOString();
  return (
    <section className="panel initiative" data-testid="initiative-view">
      <header className="panel-head">
        <h2>Initiative &amp; Automations</h2>
        <span className="muted">scheduled jobs, their runs, what clanker posted on its own and why, and its feed sources</span>
      </header>
      <CheckNow onChecked={() => void load()} />
      {error ? (
        <div className="banner warn" data-testid="initiative-error">
          {error}
        </div>
      ) : null}
      {outcome ? (
        <div className={outcome.ok ? "banner" : "banner warn"} data-testid={outcome.ok ? "initiative-action-status" : "initiative-action-error"}>
          {outcome.text}
        </div>
      ) : null}
      {data === null ? (
        <p className="muted">Loading…</p>
      ) : (
        <>
          <h3>Scheduled jobs</h3>
          <JobsPanel jobs={data.jobs.jobs} now={now} busy={busy} onAct={(job, action) => void act(job, action)} />
          <div className="columns initiative-columns">
            <div>
              <RunsPanel runs={data.runs.runs} jobs={data.jobs.jobs} jobId={jobId} onJob={setJobId} />
              <FeedsPanel feeds={data.feeds} now={now} />
            </div>
            <div>
              <DecisionsPanel decisions={data.decisions.decisions} now={now} filter={filter} onFilter={setFilter} />
            </div>
          </div>
        </>
      )}
    </section>
  );
}
