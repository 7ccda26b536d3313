// Voice: every running voice connection (polled from /api/voice), whether its call is
// end-to-end encrypted (DAVE) and the privacy code a member can compare with their client's,
// what its voice brain is doing, its music; and the operator's controls: join, leave, stop
// speaking, music.

import { useCallback, useEffect, useState } from "react";
import { api } from "../api/client";
import type {
  GuildView,
  VoiceActionDone,
  VoiceConnection,
  VoiceConnections,
  VoiceMusicAction,
  VoiceMusicDone,
  VoiceMuteDone,
} from "../api/types";
import { BrainPanel } from "../voice/BrainPanel";
import { MusicPanel } from "../voice/MusicPanel";
import { groupPrivacyCode } from "../voice/privacy";

const POLL_MS = 2_000;

function Encryption({ c }: { c: VoiceConnection }) {
  const e = c.encryption;
  if (!e) return <span className="muted">no DAVE state from clankvox yet</span>;
  return (
    <>
      <span className={e.end_to_end ? "badge running" : "badge stopped"} data-testid="voice-e2ee">
        End-to-end encrypted: {e.end_to_end ? "yes" : "no"}
      </span>{" "}
      <span className="muted" data-testid="voice-dave-status">
        {e.status}, DAVE protocol {e.protocol_version}
        {e.epoch !== null ? `, epoch ${e.epoch}` : ""}
      </span>
    </>
  );
}

type Outcome = { ok: boolean; text: string } | null;

function JoinForm({ guilds, onJoin, busy }: { guilds: GuildView[]; onJoin: (guildId: string, channelId: string) => void; busy: boolean }) {
  const choices = guilds.flatMap((g) => g.channels.filter((c) => c.kind === "voice").map((c) => ({ g, c })));
  const [picked, setPicked] = useState("");
  const value = picked || (choices[0] ? `${choices[0].g.id}/${choices[0].c.id}` : "");
  return (
    <form
      className="voice-join"
      data-testid="voice-join-form"
      onSubmit={(e) => {
        e.preventDefault();
        const [guildId, channelId] = value.split("/");
        if (guildId && channelId) onJoin(guildId, channelId);
      }}
    >
      <label>
        voice channel{" "}
        <select value={value} onChange={(e) => setPicked(e.target.value)} data-testid="voice-join-channel">
          {choices.map(({ g, c }) => (
            <option key={c.id} value={`${g.id}/${c.id}`}>
              {g.name} / {c.name}
            </option>
          ))}
        </select>
      </label>{" "}
      <button data-testid="voice-join" disabled={!value || busy}>
        Join
      </button>
      {choices.length === 0 ? <span className="muted"> no voice channel known</span> : null}
    </form>
  );
}

export function VoiceView() {
  const [voice, setVoice] = useState<VoiceConnections | null>(null);
  const [guilds, setGuilds] = useState<GuildView[]>([]);
  const [names, setNames] = useState<Map<string, string>>(new Map());
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome>(null);
  const load = useCallback(
    () =>
      api
        .get<VoiceConnections>("/api/voice")
        .then((v) => {
          setVoice(v);
          setError("");
        })
        .catch((e: Error) => setError(e.message)),
    [],
  );
  useEffect(() => {
    api
      .get<GuildView[]>("/api/guilds")
      .then((found) => {
        const map = new Map<string, string>();
        found.forEach((g) => {
          map.set(g.id, g.name);
          g.channels.forEach((ch) => map.set(ch.id, ch.name));
        });
        setGuilds(found);
        setNames(map);
      })
      .catch(() => undefined);
    void load();
    const timer = window.setInterval(load, POLL_MS);
    return () => window.clearInterval(timer);
  }, [load]);
  const name = (id: string) => names.get(id) ?? id;

  const act = async <T = VoiceActionDone,>(path: string, body: object, done: (r: T) => string) => {
    setBusy(true);
    setOutcome(null);
    try {
      const reply = await api.post<T>(path, body);
      setOutcome({ ok: true, text: done(reply) });
    } catch (e) {
      setOutcome({ ok: false, text: (e as Error).message });
    } finally {
      setBusy(false);
      void load();
    }
  };
  const join = (guildId: string, channelId: string) =>
    act("/api/voice/join", { guild_id: guildId, channel_id: channelId }, (r) => `Joined ${name(r.channel_id ?? channelId)}.`);
  const leave = (c: VoiceConnection) =>
    act("/api/voice/leave", { guild_id: c.guild_id }, (r) => (r.channel_id ? `Left ${name(r.channel_id)}.` : "The bot was in no voice channel."));
  const music = (c: VoiceConnection, action: VoiceMusicAction, query?: string) =>
    act<VoiceMusicDone>("/api/voice/music", { guild_id: c.guild_id, action, query: query ?? "" }, (r) => r.said);
  const mute = (c: VoiceConnection, muted: boolean) =>
    act<VoiceMuteDone>("/api/voice/mute", { guild_id: c.guild_id, muted }, (r) =>
      r.muted ? `Muted the bot in ${name(c.channel_id)}: it hears, and says nothing.` : `Unmuted the bot in ${name(c.channel_id)}.`,
    );
  const stop = (c: VoiceConnection) =>
    act("/api/voice/stop-speaking", { guild_id: c.guild_id }, () => `Told the bot to stop speaking in ${name(c.channel_id)}.`);

  return (
    <section className="panel voice" data-testid="voice-view">
      <header className="panel-head">
        <h2>Voice</h2>
        <JoinForm guilds={guilds} onJoin={join} busy={busy} />
      </header>
      {error ? <div className="banner warn">{error}</div> : null}
      {outcome ? (
        <div className={outcome.ok ? "banner" : "banner warn"} data-testid={outcome.ok ? "voice-action-status" : "voice-action-error"}>
          {outcome.text}
        </div>
      ) : null}
      {voice && voice.connections.length === 0 ? <p className="muted" data-testid="voice-none">No voice connection.</p> : null}
      {voice?.connections.map((c) => {
        const e = c.encryption;
        return (
          <div className="banner" key={c.guild_id} data-testid="voice-connection">
            <div className="voice-head">
              <div>
                <strong>{name(c.guild_id)}</strong> / <strong>{name(c.channel_id)}</strong>{" "}
                <span className={c.phase === "ready" ? "badge running" : "badge restarting"} data-testid="voice-phase">
                  {c.phase}
                </span>
                {c.muted ? (
                  <span className="badge restarting" data-testid="voice-muted">
                    muted
                  </span>
                ) : null}
                {c.failures > 0 ? <span className="muted"> · {c.failures} failed attempts{c.last_error ? `: ${c.last_error}` : ""}</span> : null}
              </div>
              <div className="banner-actions">
                <button className="secondary small" data-testid="voice-mute" disabled={busy} onClick={() => void mute(c, !c.muted)}>
                  {c.muted ? "Unmute" : "Mute"}
                </button>
                <button className="secondary small" data-testid="voice-stop" disabled={busy} onClick={() => void stop(c)}>
                  Stop speaking
                </button>
                <button className="danger small" data-testid="voice-leave" disabled={busy} onClick={() => void leave(c)}>
                  Leave
                </button>
              </div>
            </div>
            <div>
              <Encryption c={c} />
            </div>
            {e?.privacy_code ? (
              <div>
                privacy code <code data-testid="voice-privacy-code">{groupPrivacyCode(e.privacy_code)}</code>
              </div>
            ) : null}
            {e ? (
              <div className="muted" data-testid="voice-counters">
                frames {e.encrypted_frames} encrypted, {e.decrypted_frames} decrypted · {e.decrypt_failures} decrypt failures ·{" "}
                {e.passthrough_frames} passed through · {e.early_dropped} before keys · {e.outbound_dropped} unsent
                {e.last_error ? ` · last DAVE error: ${e.last_error}` : ""}
              </div>
            ) : null}
            {c.music ? <MusicPanel music={c.music} busy={busy} onAction={(a, q) => void music(c, a, q)} /> : null}
            {c.brain ? <BrainPanel brain={c.brain} /> : <div className="muted">no voice brain on this call</div>}
          </div>
        );
      })}
    </section>
  );
}
