// Sandbox mode: talk to the bot as a simulated member in a simulated channel, and watch each
// message's decision trail appear beside the conversation.

import { type FormEvent, useEffect, useMemo, useRef, useState } from "react";
import { ApiFailure, api } from "../api/client";
import type { ChatMessage, SaidAloud, SandboxInfo } from "../api/types";
import { useEventStream } from "../api/useEventStream";
import { buildTrails } from "../activity/trails";
import type { KnownMessage } from "../activity/trails";
import { TrailCard, useKnownMessages, useLiveActions } from "./ActivityView";
import { PushToTalk } from "./PushToTalk";

function merge(current: ChatMessage[], fresh: ChatMessage[]): ChatMessage[] {
  const byId = new Map(current.map((m) => [m.id, m]));
  fresh.forEach((m) => byId.set(m.id, m));
  // Snowflakes grow with time: compare as big integers.
  return [...byId.values()].sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1)).slice(-200);
}

export function ChatView() {
  const [info, setInfo] = useState<SandboxInfo | null>(null);
  const [channel, setChannel] = useState<string>("");
  const [author, setAuthor] = useState<string>("");
  const [messages, setMessages] = useState<ChatMessage[]>([]);
  const [text, setText] = useState("");
  const [error, setError] = useState("");
  const [aloud, setAloud] = useState(false);
  const [spoken, setSpoken] = useState("");
  const end = useRef<HTMLDivElement>(null);

  useEffect(() => {
    api
      .get<SandboxInfo>("/api/sandbox")
      .then((world) => {
        setInfo(world);
        setChannel(world.default_channel_id ?? "");
        setAuthor(world.default_author_id ?? "");
      })
      .catch((e: Error) => setError(e.message));
  }, []);
  useEffect(() => {
    if (!channel) return;
    setMessages([]);
    api
      .get<ChatMessage[]>(`/api/sandbox/channels/${channel}/messages?limit=50`)
      .then((list) => setMessages((current) => merge(current, list)))
      .catch((e: Error) => setError(e.message));
  }, [channel]);
  const state = useEventStream(channel ? `/api/sandbox/stream?channel_id=${channel}` : null, {
    message: (data) => setMessages((current) => merge(current, [data as ChatMessage])),
  });
  useEffect(() => {
    end.current?.scrollIntoView({ block: "end" });
  }, [messages]);

  const { actions } = useLiveActions({ channel_id: channel || undefined });
  const trails = useMemo(() => buildTrails(actions).filter((t) => t.messageIds.length > 0).slice(0, 12), [actions]);
  const inChat = useMemo(() => new Map<string, KnownMessage>(messages.map((m) => [m.id, { author: m.author_name, content: m.content }])), [messages]);
  const known = useKnownMessages(trails, inChat);
  const textChannels = info?.guilds.flatMap((g) => g.channels.filter((c) => c.kind === "text").map((c) => ({ ...c, guild: g.name }))) ?? [];
  const people = info?.members.filter((m) => !m.is_bot) ?? [];

  const send = async (event: FormEvent) => {
    event.preventDefault();
    if (!text.trim()) return;
    setError("");
    setSpoken("");
    try {
      if (aloud) {
        // said in the voice call, in Piper's voice; the Voice view shows the bot's answer
        const said = await api.post<SaidAloud>("/api/sandbox/say", { author_id: author, text });
        setSpoken(`said aloud in voice (${said.seconds.toFixed(1)} s): ${said.text}`);
      } else {
        const posted = await api.post<ChatMessage>("/api/sandbox/messages", { channel_id: channel, author_id: author, content: text });
        setMessages((current) => merge(current, [posted]));
      }
      setText("");
    } catch (e) {
      setError(e instanceof ApiFailure ? e.message : String(e));
    }
  };

  return (
    <section className="panel chat" data-testid="chat-view">
      <header className="panel-head">
        <h2>Sandbox chat</h2>
        <span className={`stream ${state}`}>{state === "open" ? "live" : state}</span>
        <label>
          channel{" "}
          <select value={channel} onChange={(e) => setChannel(e.target.value)} data-testid="chat-channel">
            {textChannels.map((c) => (
              <option key={c.id} value={c.id}>
                {c.guild} #{c.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          <input type="checkbox" checked={aloud} onChange={(e) => setAloud(e.target.checked)} data-testid="chat-aloud" /> say aloud in
          voice
        </label>
        <label>
          speak as{" "}
          <select value={author} onChange={(e) => setAuthor(e.target.value)} data-testid="chat-author">
            {people.map((m) => (
              <option key={m.id} value={m.id}>
                {m.name}
              </option>
            ))}
          </select>
        </label>
      </header>
      {error ? <div className="banner warn" data-testid="chat-error">{error}</div> : null}
      {spoken ? <div className="banner" data-testid="chat-spoken">{spoken}</div> : null}
      <div className="columns chat-columns">
        <div className="conversation">
          <ul className="messages" data-testid="chat-messages">
            {messages.map((m) => (
              <li key={m.id} className={m.is_bot ? "bot" : "member"} data-testid={m.is_bot ? "bot-message" : "member-message"}>
                <span className="author">{m.author_name}</span>
                <span className="text">{m.content}</span>
              </li>
            ))}
          </ul>
          <div ref={end} />
          <form className="composer" onSubmit={send}>
            <input
              data-testid="chat-input"
              placeholder={aloud ? "Say it aloud in the voice call…" : "Say something to the bot…"}
              value={text}
              maxLength={2000}
              onChange={(e) => setText(e.target.value)}
            />
            <button data-testid="chat-send" disabled={!text.trim() || !channel}>
              Send
            </button>
            <PushToTalk
              author={author}
              onSpoken={(said) => {
                setError("");
                setSpoken(`spoke in voice from the microphone (${said.seconds.toFixed(1)} s)`);
              }}
              onError={(message) => {
                setSpoken("");
                setError(message);
              }}
            />
          </form>
        </div>
        <aside className="side-trails" data-testid="chat-trails">
          <h3>Decision trails in this channel</h3>
          {trails.length === 0 ? <p className="muted">Send a message to see how the bot decides.</p> : null}
          <ul className="trails">
            {trails.map((trail) => (
              <TrailCard key={trail.key} trail={trail} known={known} />
            ))}
          </ul>
        </aside>
      </div>
    </section>
  );
}
