// A React hook over EventSource: named SSE events to handlers, with the connection state.
// The browser reconnects by itself (the server sends `retry: 3000`) and sends Last-Event-ID,
// so the action stream replays what was missed.

import { useEffect, useRef, useState } from "react";

export type StreamState = "connecting" | "open" | "closed";

export function useEventStream(
  url: string | null,
  handlers: Record<string, (data: unknown, id: string) => void>,
): StreamState {
  const [state, setState] = useState<StreamState>("connecting");
  const latest = useRef(handlers);
  latest.current = handlers;
  const names = Object.keys(handlers).sort().join(",");

  useEffect(() => {
    if (url === null) {
      setState("closed");
      return;
    }
    const source = new EventSource(url, { withCredentials: true });
    setState("connecting");
    source.onopen = () => setState("open");
    source.onerror = () => setState(source.readyState === EventSource.CLOSED ? "closed" : "connecting");
    const listeners = names.split(",").filter(Boolean).map((name) => {
      const listener = (event: MessageEvent<string>) => {
        const handler = latest.current[name];
        if (handler) handler(JSON.parse(event.data), event.lastEventId);
      };
      source.addEventListener(name, listener as EventListener);
      return [name, listener] as const;
    });
    return () => {
      listeners.forEach(([name, listener]) => source.removeEventListener(name, listener as EventListener));
      source.close();
    };
  }, [url, names]);

  return state;
}
