// A call's music: what plays (and its phase, ducked or not), the queue, and the operator's
// controls: play or queue a title from the library (or an http(s) URL), pause, resume, skip,
// stop. Each control is POST /api/voice/music.

import { useState } from "react";
import type { VoiceMusicAction, VoiceMusicView } from "../api/types";

const PHASES: Record<string, string> = {
  idle: "nothing playing",
  loading: "starting",
  playing: "playing",
  paused: "paused",
  paused_wake_word: "paused while someone talks to the bot",
  stopping: "stopping",
};

export function MusicPanel({
  music,
  busy,
  onAction,
}: {
  music: VoiceMusicView;
  busy: boolean;
  onAction: (action: VoiceMusicAction, query?: string) => void;
}) {
  const [query, setQuery] = useState("");
  const ducked = music.phase === "playing" && music.gain < 1;
  return (
    <div className="voice-music" data-testid="voice-music">
      <div>
        music{" "}
        <span className={music.phase === "playing" ? "badge running" : "badge"} data-testid="voice-music-phase">
          {PHASES[music.phase] ?? music.phase}
        </span>
        {music.now_playing ? (
          <>
            {" "}
            <strong data-testid="voice-music-now">{music.now_playing}</strong>
          </>
        ) : null}
        {ducked ? <span className="muted"> · ducked under speech</span> : null}
        <span className="muted"> · {music.library_tracks} tracks in the library</span>
      </div>
      {music.queue.length > 0 ? (
        <ol className="voice-music-queue" data-testid="voice-music-queue">
          {music.queue.map((title, i) => (
            <li key={`${i}-${title}`}>{title}</li>
          ))}
        </ol>
      ) : null}
      {music.last_error ? <div className="muted">last error: {music.last_error}</div> : null}
      <form
        className="voice-music-controls"
        onSubmit={(e) => {
          e.preventDefault();
          if (query.trim()) onAction("play", query.trim());
        }}
      >
        <input
          data-testid="voice-music-query"
          placeholder="title or https:// link"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
        />{" "}
        <button data-testid="voice-music-play" disabled={busy || !query.trim()}>
          Play
        </button>{" "}
        <button
          type="button"
          className="secondary small"
          data-testid="voice-music-add"
          disabled={busy || !query.trim()}
          onClick={() => onAction("add", query.trim())}
        >
          Queue
        </button>{" "}
        <button type="button" className="secondary small" data-testid="voice-music-pause" disabled={busy} onClick={() => onAction("pause")}>
          Pause
        </button>{" "}
        <button type="button" className="secondary small" data-testid="voice-music-resume" disabled={busy} onClick={() => onAction("resume")}>
          Resume
        </button>{" "}
        <button type="button" className="secondary small" data-testid="voice-music-skip" disabled={busy} onClick={() => onAction("skip")}>
          Skip
        </button>{" "}
        <button type="button" className="danger small" data-testid="voice-music-stop" disabled={busy} onClick={() => onAction("stop")}>
          Stop
        </button>
      </form>
    </div>
  );
}
