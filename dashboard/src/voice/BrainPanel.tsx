// What a connection's voice brain is doing: its output phase, who is talking, and the recent
// turns with where each one's time went.

import type { VoiceBrainView, VoiceMember, VoiceStages, VoiceTurn } from "../api/types";

const PHASES: Record<string, string> = {
  idle: "idle",
  response_pending: "thinking",
  speaking_live: "speaking",
  speaking_buffered: "speaking (buffered)",
};

const STAGES: [keyof VoiceStages, string][] = [
  ["speech_end_to_decided", "end of turn"],
  ["decided_to_transcript", "transcript"],
  ["transcript_to_first_token", "first token"],
  ["first_token_to_first_audio", "first audio"],
];

function ms(value: number | null): string {
  return value === null ? "–" : `${value} ms`;
}

/** "end of turn 310 ms · transcript 420 ms · …": the four stages of a turn, in order. */
export function stagesText(stages: VoiceStages): string {
  return STAGES.map(([key, label]) => `${label} ${ms(stages[key])}`).join(" · ");
}

function who(members: VoiceMember[]): string {
  return members.map((m) => m.name ?? `member ${m.id}`).join(", ");
}

function outcomeClass(outcome: string): string {
  if (outcome === "spoken") return "badge sent";
  if (outcome === "skipped") return "badge";
  return "badge failed";
}

function TurnRow({ turn }: { turn: VoiceTurn }) {
  const stages = stagesText(turn.stages_ms);
  return (
    <tr data-testid="voice-turn">
      <td data-testid="voice-turn-who">{turn.speakers.join(", ")}</td>
      <td data-testid="voice-turn-said">{turn.said}</td>
      <td data-testid="voice-turn-reply">{turn.reply || <span className="muted">(nothing)</span>}</td>
      <td>
        <span className={outcomeClass(turn.outcome)} data-testid="voice-turn-outcome">
          {turn.outcome}
        </span>
      </td>
      <td title={stages}>
        <span data-testid="voice-turn-latency">{ms(turn.speech_end_to_first_audio_ms)}</span>
        <div className="stages muted" data-testid="voice-turn-stages">
          {stages}
        </div>
      </td>
    </tr>
  );
}

export function BrainPanel({ brain }: { brain: VoiceBrainView }) {
  const dropped = Object.entries(brain.dropped).filter(([, n]) => n > 0);
  return (
    <div className="voice-brain" data-testid="voice-brain">
      <div>
        voice brain{" "}
        <span className={brain.phase === "idle" ? "badge" : "badge started"} data-testid="voice-brain-phase">
          {PHASES[brain.phase] ?? brain.phase}
        </span>{" "}
        <span data-testid="voice-speaking">
          {brain.speaking.length ? `${who(brain.speaking)} speaking` : <span className="muted">nobody speaking</span>}
        </span>
        <span className="muted" data-testid="voice-listening">
          {" "}
          · hearing {brain.listening.length ? who(brain.listening) : "nobody"}
        </span>
        <span className="muted" data-testid="voice-brain-counters">
          {" "}
          · {brain.barge_ins} barge-ins · {brain.deferred} waiting
          {dropped.length ? ` · dropped ${dropped.map(([why, n]) => `${n} ${why}`).join(", ")}` : ""}
        </span>
      </div>
      {brain.turns.length === 0 ? (
        <p className="muted" data-testid="voice-turns-none">
          No turns yet.
        </p>
      ) : (
        <table className="voice-turns" data-testid="voice-turns">
          <thead>
            <tr>
              <th>who</th>
              <th>said</th>
              <th>reply</th>
              <th>outcome</th>
              <th>speech end → first audio</th>
            </tr>
          </thead>
          <tbody>
            {brain.turns.map((t) => (
              <TurnRow turn={t} key={t.reply_id} />
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
