// The scheduled jobs: each with its task, where it posts, its schedule in plain words, its
// next fire (in the schedule's own zone and from now) and status, and the operator's Pause /
// Resume / Delete (Delete asks first).

import { useState } from "react";
import type { InitiativeJob, JobAction } from "../api/types";
import { relative, utc } from "./when";

const STATUS_BADGE: Record<string, string> = { active: "running", paused: "restarting", done: "", deleted: "stopped" };

export function where(guild: string | null, guildId: string | null, channel: string | null, channelId: string | null): string {
  const parts = [];
  if (channelId) parts.push(`#${channel ?? channelId}`);
  if (guildId) parts.push(guild ?? `server ${guildId}`);
  return parts.join(" · ") || "—";
}

function JobRow({ job, now, busy, onAct }: { job: InitiativeJob; now: string; busy: boolean; onAct: (job: InitiativeJob, action: JobAction) => void }) {
  const [confirming, setConfirming] = useState(false);
  return (
    <tr data-testid="job-row" data-job-id={job.id} data-status={job.status}>
      <td>
        <div>
          <strong data-testid="job-title">{job.title}</strong> <span className="kind-tag">{job.kind}</span>
        </div>
        {job.task ? (
          <div className="muted small-text" data-testid="job-task">
            {job.task}
          </div>
        ) : null}
        {job.created_by ? <div className="muted small-text">asked for by {job.created_by_name ?? `user ${job.created_by}`}</div> : null}
      </td>
      <td>{where(job.guild_name, job.guild_id, job.channel_name, job.channel_id)}</td>
      <td data-testid="job-schedule">
        {job.schedule_text || <span className="warn-text">{job.schedule_problem ?? "unreadable schedule"}</span>}
        {job.catch_up === "once" ? <div className="muted small-text">a fire missed while down runs once at start</div> : null}
      </td>
      <td data-testid="job-next" title={job.next_run_at ?? ""}>
        {job.next_run_at ? (
          <>
            {job.next_run_local ?? utc(job.next_run_at)}
            <div className="muted small-text">
              {job.status === "paused" ? "held while paused" : relative(job.next_run_at, now)}
            </div>
          </>
        ) : (
          <span className="muted">none</span>
        )}
      </td>
      <td>
        <span className={`badge ${STATUS_BADGE[job.status] ?? ""}`} data-testid="job-status">
          {job.status}
        </span>
        {job.missed ? (
          <div className="muted small-text" title="fires skipped (missed while clanker was down, beyond the catch-up rule)">
            {job.missed} missed
          </div>
        ) : null}
      </td>
      <td className="job-actions">
        {job.status === "active" ? (
          <button className="secondary small" data-testid="job-pause" disabled={busy} onClick={() => onAct(job, "pause")}>
            Pause
          </button>
        ) : null}
        {job.status === "paused" ? (
          <button className="secondary small" data-testid="job-resume" disabled={busy} onClick={() => onAct(job, "resume")}>
            Resume
          </button>
        ) : null}{" "}
        {job.status === "deleted" ? null : confirming ? (
          <>
            <button className="danger small" data-testid="job-delete-confirm" disabled={busy} onClick={() => onAct(job, "delete")}>
              Delete for good
            </button>{" "}
            <button className="secondary small" data-testid="job-delete-cancel" onClick={() => setConfirming(false)}>
              Cancel
            </button>
          </>
        ) : (
          <button className="danger small" data-testid="job-delete" disabled={busy} onClick={() => setConfirming(true)}>
            Delete
          </button>
        )}
      </td>
    </tr>
  );
}

export function JobsPanel({ jobs, now, busy, onAct }: { jobs: InitiativeJob[]; now: string; busy: boolean; onAct: (job: InitiativeJob, action: JobAction) => void }) {
  if (jobs.length === 0) {
    return (
      <p className="muted" data-testid="jobs-none">
        Nothing is scheduled. Members ask for automations in plain words ("clanker, every morning at 9 post …").
      </p>
    );
  }
  return (
    <table className="initiative-jobs">
      <thead>
        <tr>
          <th>job</th>
          <th>where</th>
          <th>schedule</th>
          <th>next fire</th>
          <th>status</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {jobs.map((job) => (
          <JobRow key={job.id} job={job} now={now} busy={busy} onAct={onAct} />
        ))}
      </tbody>
    </table>
  );
}
