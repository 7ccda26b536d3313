// Types the dashboard will draw: the runtime's supervision-tree snapshot, as served by clanker.
// Placeholder until the dashboard issue lands; it pins the JSON shape of docs/runtime.md.

export type ActorStatus = "starting" | "running" | "restarting" | "stopping" | "stopped" | "crashed";

export interface MailboxStats {
  depth: number;
  capacity: number;
  overflow: "block" | "drop_oldest" | "drop_newest";
  dropped: number;
  unhandled: number;
}

export interface ActorNode {
  name: string;
  path: string;
  kind: "actor" | "supervisor";
  status: ActorStatus;
  restarts: number;
  mailbox: MailboxStats | null;
  children: ActorNode[];
}

export function countNodes(node: ActorNode): number {
  return 1 + node.children.reduce((sum, child) => sum + countNodes(child), 0);
}
