// The supervision tree, live: status, restarts, mailbox depth and drops of every actor, redrawn
// from the runtime stream's snapshots, with the stream's lifecycle events beside it.

import { useState } from "react";
import { ApiFailure, api } from "../api/client";
import type { ActorNode, RuntimeEvent } from "../api/types";
import { useEventStream } from "../api/useEventStream";
import { countNodes, flatten } from "../tree";

const MAX_EVENTS = 80;

interface Seen {
  event: RuntimeEvent;
  received: Date; // trio's clock has an arbitrary origin: show when the browser got it
}

function describe(event: RuntimeEvent): string {
  switch (event.type) {
    case "ActorStarted":
      return `started (incarnation ${event.incarnation})`;
    case "ActorRestarted":
      return `restarted (${event.restarts} restart${event.restarts === 1 ? "" : "s"})`;
    case "ActorStopped":
      return `stopped (${event.reason})`;
    case "ActorCrashed":
      return `crashed: ${event.error_type}: ${event.error}`;
    case "ActorRemoved":
      return "removed";
    case "MailboxOverflow":
      return `mailbox full (${event.depth}/${event.capacity}, ${event.overflow}, ${event.dropped} dropped)`;
    case "UnhandledDropped":
      return `dropped unhandled ${event.message_type}`;
    case "RemovedWithMessages":
      return `removed with ${event.dropped} message${event.dropped === 1 ? "" : "s"} unhandled (${event.message_types.join(", ")})`;
    case "SupervisorEscalated":
      return `escalated: ${event.child} exceeded ${event.intensity} restarts in ${event.period}s`;
  }
}

function MailboxBar({ node }: { node: ActorNode }) {
  const box = node.mailbox;
  if (!box) return <span className="muted">—</span>;
  const ratio = Math.min(1, box.depth / box.capacity);
  return (
    <span className="mailbox" title={`${box.overflow}; ${box.unhandled} unhandled`}>
      <span className="bar">
        <span className={`fill ${ratio > 0.8 ? "hot" : ""}`} style={{ width: `${ratio * 100}%` }} />
      </span>
      <span data-testid={`depth-${node.path}`}>
        {box.depth}/{box.capacity}
      </span>
      {box.dropped ? <span className="drops">{box.dropped} dropped</span> : null}
    </span>
  );
}

export function TreeView({ operatorCrash }: { operatorCrash: boolean }) {
  const [tree, setTree] = useState<ActorNode | null>(null);
  const [events, setEvents] = useState<Seen[]>([]);
  const [notice, setNotice] = useState("");
  const state = useEventStream("/api/runtime/events", {
    snapshot: (data) => setTree(data as ActorNode),
    runtime: (data) =>
      setEvents((list) => [{ event: data as RuntimeEvent, received: new Date() }, ...list].slice(0, MAX_EVENTS)),
  });

  const crash = async (path: string) => {
    setNotice("");
    try {
      await api.post("/api/actors/crash", { path });
      setNotice(`Crashed ${path}; watch its supervisor restart it.`);
    } catch (e) {
      setNotice(e instanceof ApiFailure ? e.message : String(e));
    }
  };

  return (
    <section className="panel tree-view" data-testid="tree-view">
      <header className="panel-head">
        <h2>Supervision tree</h2>
        <span className={`stream ${state}`}>{state === "open" ? "live" : state}</span>
        {tree ? <span className="muted">{countNodes(tree)} nodes</span> : null}
      </header>
      {notice ? <div className="banner" data-testid="tree-notice">{notice}</div> : null}
      <div className="columns">
        <table className="tree">
          <thead>
            <tr>
              <th>actor</th>
              <th>status</th>
              <th>restarts</th>
              <th>mailbox</th>
              {operatorCrash ? <th /> : null}
            </tr>
          </thead>
          <tbody>
            {tree
              ? flatten(tree).map(({ node, depth }) => (
                  <tr key={node.path} data-testid={`node-${node.path}`} className={`status-${node.status}`}>
                    <td style={{ paddingLeft: `${0.6 + depth * 1.4}rem` }}>
                      <span className={`kind ${node.kind}`}>{node.kind === "supervisor" ? "▾" : "•"}</span> {node.name}
                    </td>
                    <td>
                      <span className={`badge ${node.status}`} data-testid={`status-${node.path}`}>
                        {node.status}
                      </span>
                    </td>
                    <td data-testid={`restarts-${node.path}`} className={node.restarts ? "warn-text" : ""}>
                      {node.restarts}
                    </td>
                    <td>
                      <MailboxBar node={node} />
                    </td>
                    {operatorCrash ? (
                      <td>
                        {node.kind === "actor" ? (
                          <button className="small danger" data-testid={`crash-${node.path}`} onClick={() => crash(node.path)}>
                            crash
                          </button>
                        ) : null}
                      </td>
                    ) : null}
                  </tr>
                ))
              : null}
          </tbody>
        </table>
        <div className="event-log" data-testid="runtime-events">
          <h3>Runtime events</h3>
          {events.length === 0 ? <p className="muted">Nothing has happened since you opened this page.</p> : null}
          <ul>
            {events.map(({ event, received }, i) => (
              <li key={`${event.at}-${i}`} className={`ev ${event.type}`}>
                <time title={`trio time ${event.at.toFixed(3)} s`}>{received.toLocaleTimeString()}</time>{" "}
                <code>{event.path}</code> {describe(event)}
              </li>
            ))}
          </ul>
        </div>
      </div>
    </section>
  );
}
