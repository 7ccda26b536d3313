// Voice: every running voice connection (polled from /api/voice), whether its call is
// end-to-end encrypted (DAVE) and the privacy code a member can compare with their client's.

import { useEffect, useState } from "react";
import { api } from "../api/client";
import type { GuildView, VoiceConnection, VoiceConnections } from "../api/types";
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

export function VoiceView() {
  const [voice, setVoice] = useState<VoiceConnections | null>(null);
  const [names, setNames] = useState<Map<string, string>>(new Map());
  const [error, setError] = useState("");
  useEffect(() => {
    api
      .get<GuildView[]>("/api/guilds")
      .then((guilds) => {
        const map = new Map<string, string>();
        guilds.forEach((g) => {
          map.set(g.id, g.name);
          g.channels.forEach((ch) => map.set(ch.id, ch.name));
        });
        setNames(map);
      })
      .catch(() => undefined);
    const load = () =>
      api
        .get<VoiceConnections>("/api/voice")
        .then((v) => {
          setVoice(v);
          setError("");
        })
        .catch((e: Error) => setError(e.message));
    void load();
    const timer = window.setInterval(load, POLL_MS);
    return () => window.clearInterval(timer);
  }, []);
  const name = (id: string) => names.get(id) ?? id;

  return (
    <section className="panel voice" data-testid="voice-view">
      <header className="panel-head">
        <h2>Voice</h2>
      </header>
      {error ? <div className="banner warn">{error}</div> : null}
      {voice && voice.connections.length === 0 ? <p className="muted" data-testid="voice-none">No voice connection.</p> : null}
      {voice?.connections.map((c) => {
        const e = c.encryption;
        return (
          <div className="banner" key={c.guild_id} data-testid="voice-connection">
            <div>
              <strong>{name(c.guild_id)}</strong> / <strong>{name(c.channel_id)}</strong>{" "}
              <span className={c.phase === "ready" ? "badge running" : "badge restarting"} data-testid="voice-phase">
                {c.phase}
              </span>
              {c.failures > 0 ? <span className="muted"> · {c.failures} failed attempts{c.last_error ? `: ${c.last_error}` : ""}</span> : null}
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
          </div>
        );
      })}
    </section>
  );
}
