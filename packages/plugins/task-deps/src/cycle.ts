import type { DepStore } from './dep-store.js';

/**
 * Would the edge `taskId → dependsOn` close a cycle? Depth-first from `dependsOn`
 * along declared edges; returns the cycle as task ids (`[taskId, dependsOn, …,
 * taskId]`) or null. Reads the graph one level at a time.
 */
export async function findCycle(deps: Pick<DepStore, 'edgesFrom'>, taskId: number, dependsOn: number): Promise<number[] | null> {
  if (taskId === dependsOn) return [taskId, taskId];
  // parent pointers of the search tree, to rebuild the path once taskId is reached
  const parent = new Map<number, number>([[dependsOn, taskId]]);
  let frontier = [dependsOn];
  while (frontier.length) {
    const next: number[] = [];
    for (const edge of await deps.edgesFrom(frontier)) {
      if (edge.dependsOn === taskId) {
        const path = [taskId];
        for (let at: number | undefined = edge.taskId; at !== undefined && at !== taskId; at = parent.get(at)) path.push(at);
        path.push(taskId);
        // path is walked backwards: taskId ← … ← dependsOn ← taskId; read it forwards.
        return [taskId, ...path.slice(1, -1).reverse(), taskId];
      }
      if (!parent.has(edge.dependsOn)) {
        parent.set(edge.dependsOn, edge.taskId);
        next.push(edge.dependsOn);
      }
    }
    frontier = next;
  }
  return null;
}
