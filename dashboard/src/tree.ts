// Helpers over the supervision-tree snapshot (types in api/types.ts).

import type { ActorNode } from "./api/types";

export function countNodes(node: ActorNode): number {
  return 1 + node.children.reduce((sum, child) => sum + countNodes(child), 0);
}

/** Every node, depth first, with its depth. */
export function flatten(node: ActorNode, depth = 0): { node: ActorNode; depth: number }[] {
  return [{ node, depth }, ...node.children.flatMap((child) => flatten(child, depth + 1))];
}
