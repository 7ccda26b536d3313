// The shell: log in (a token in the URL fragment is exchanged for a session cookie at once),
// then tabs for the tree, activity, voice, memory, initiative & automations, settings, costs and, in
// sandbox mode, the chat panel.

import { useCallback, useEffect, useState } from "react";
import { api, onUnauthorized } from "./api/client";
import type { Health, SessionState } from "./api/types";
import { ActivityView } from "./views/ActivityView";
import { ChatView } from "./views/ChatView";
import { CostsView } from "./views/CostsView";
import { InitiativeView } from "./views/InitiativeView";
import { Login } from "./views/Login";
import { MemoryView } from "./views/MemoryView";
import { SettingsView } from "./views/SettingsView";
import { TreeView } from "./views/TreeView";
import { VoiceView } from "./views/VoiceView";

type Tab = "tree" | "activity" | "chat" | "voice" | "memory" | "initiative" | "settings" | "costs";
const TABS: { id: Tab; label: string; sandboxOnly?: boolean }[] = [
  { id: "tree", label: "Tree" },
  { id: "activity", label: "Activity" },
  { id: "chat", label: "Chat", sandboxOnly: true },
  { id: "voice", label: "Voice" },
  { id: "memory", label: "Memory" },
  { id: "initiative", label: "Initiative" },
  { id: "settings", label: "Settings" },
  { id: "costs", label: "Costs" },
];

async function exchangeFragmentToken(): Promise<void> {
  const match = window.location.hash.match(/token=([^&]+)/);
  if (!match) return;
  // Drop the token from the address bar (and history) before anything else happens.
  window.history.replaceState(null, "", window.location.pathname + window.location.search);
  await api.post("/api/auth/session", { token: decodeURIComponent(match[1]) }).catch(() => undefined);
}

function uptime(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return h ? `${h}h ${m}m` : `${m}m ${Math.floor(seconds % 60)}s`;
}

export function App() {
  const [session, setSession] = useState<"unknown" | "in" | "out">("unknown");
  const [reason, setReason] = useState<string | undefined>();
  const [health, setHealth] = useState<Health | null>(null);
  const [tab, setTab] = useState<Tab>(() => (localStorage.getItem("clanker.tab") as Tab) || "tree");

  const check = useCallback(async () => {
    await exchangeFragmentToken();
    const state = await api.get<SessionState>("/api/auth/session");
    setSession(state.authenticated ? "in" : "out");
  }, []);
  useEffect(() => {
    check().catch(() => setSession("out"));
    return onUnauthorized(() => {
      setReason("Your session ended; log in again.");
      setSession("out");
    });
  }, [check]);
  useEffect(() => {
    if (session !== "in") return;
    const load = () => api.get<Health>("/api/health").then(setHealth).catch(() => setHealth(null));
    void load();
    const timer = window.setInterval(load, 10_000);
    return () => window.clearInterval(timer);
  }, [session]);
  useEffect(() => {
    localStorage.setItem("clanker.tab", tab);
  }, [tab]);

  if (session === "unknown") return <main className="login muted">Connecting…</main>;
  if (session === "out") return <Login reason={reason} onLoggedIn={() => setSession("in")} />;

  const tabs = TABS.filter((t) => !t.sandboxOnly || health?.sandbox);
  const current = tabs.some((t) => t.id === tab) ? tab : "tree";
  return (
    <div className="app">
      <header className="topbar">
        <h1>clanker</h1>
        <nav>
          {tabs.map((t) => (
            <button key={t.id} className={t.id === current ? "tab active" : "tab"} data-testid={`tab-${t.id}`} onClick={() => setTab(t.id)}>
              {t.label}
            </button>
          ))}
        </nav>
        <span className="health" data-testid="health">
          {health ? (
            <>
              {health.sandbox ? <span className="badge sandbox">sandbox</span> : null} v{health.version} · up {uptime(health.uptime_seconds)}
              {" · "}
              <span data-testid="discord-health" title={discordTitle(health)}>
                {discordLine(health)}
              </span>
            </>
          ) : (
            "…"
          )}
        </span>
        <button
          className="secondary small"
          data-testid="logout"
          onClick={() => api.del("/api/auth/session").finally(() => setSession("out"))}
        >
          Log out
        </button>
      </header>
      <main>
        {current === "tree" ? <TreeView operatorCrash={health?.operator_crash ?? false} /> : null}
        {current === "activity" ? <ActivityView /> : null}
        {current === "chat" ? <ChatView /> : null}
        {current === "voice" ? <VoiceView /> : null}
        {current === "memory" ? <MemoryView /> : null}
        {current === "initiative" ? <InitiativeView /> : null}
        {current === "settings" ? <SettingsView /> : null}
        {current === "costs" ? <CostsView /> : null}
      </main>
    </div>
  );
}

function discordLine(health: Health): string {
  const d = health.discord;
  if (!d) return "discord: no bridge";
  const state = d.state.replace("_", " ");
  const dropped = d.inbound_dropped > 0 ? `, ${d.inbound_dropped} events dropped` : "";
  const refused = d.lane_refusals > 0 ? `, ${d.lane_refusals} commands refused` : "";
  return `discord: ${state}${dropped}${refused}`;
}

function discordTitle(health: Health): string {
  const d = health.discord;
  if (!d) return "no Discord bridge answered";
  return (
    `inbound queue ${d.inbound_depth}/${d.inbound_capacity}, ${d.inbound_dropped} dropped; ` +
    `${d.lanes} channel lanes busy, ${d.lane_refusals} refused; ${d.relogins} re-logins; ` +
    `last heard ${d.seconds_since_heard.toFixed(1)} s ago`
  );
}
