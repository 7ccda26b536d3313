// Past runs of the scheduled jobs (all, or one job's): which fire, how late, how it ended and
// what its handler said ("sent", "skipped: …", "no RunDone within 600 s").

import type { InitiativeJob, InitiativeRun } from "../api/types";
import { lateness, utc } from "./when";

const OUTCOME_BADGE: Record<string, string> = { ok: "running", failed: "stopped", interrupted: "restarting", running: "started" };

export function RunsPanel({
  runs,
  jobs,
  jobId,
  onJob,
}: {
  runs: InitiativeRun[];
  jobs: InitiativeJob[];
  jobId: string;
  onJob: (jobId: string) => void;
}) {
  return (
    <>
      <div className="panel-head">
        <h3>Recent runs</h3>
        <label>
          job{" "}
          <select value={jobId} onChange={(e) => onJob(e.target.value)} data-testid="runs-job">
            <option value="">all jobs</option>
            {jobs.map((j) => (
              <option key={j.id} value={String(j.id)}>
                {j.title} (#{j.id})
              </option>
            ))}
          </select>
        </label>
      </div>
      {runs.length === 0 ? (
        <p className="muted" data-testid="runs-none">
          No runs yet.
        </p>
      ) : (
        <table className="initiative-runs">
          <thead>
            <tr>
              <th>job</th>
              <th>fire</th>
              <th>outcome</th>
              <th>detail</th>
              <th>finished</th>
            </tr>
          </thead>
          <tbody>
            {runs.map((r) => (
              <tr key={r.id} data-testid="run-row" data-run-id={r.id} data-job-id={r.job_id}>
                <td data-testid="run-job">{r.title}</td>
                <td>
                  <time title={r.scheduled_for}>{utc(r.scheduled_for)}</time>
                  {lateness(r.late_seconds) ? <div className="warn-text small-text">{lateness(r.late_seconds)}</div> : null}
                </td>
                <td>
                  <span className={`badge ${OUTCOME_BADGE[r.outcome] ?? ""}`} data-testid="run-outcome">
                    {r.outcome}
                  </span>
                </td>
                <td data-testid="run-detail">{r.detail}</td>
                <td className="muted">
                  <time title={`started ${r.started_at}`}>{utc(r.finished_at)}</time>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
