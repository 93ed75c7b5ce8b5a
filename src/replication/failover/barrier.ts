import type { PgNode } from '../nodes/cluster-node';
import { rows } from '../sql/sql';
import { otherInstanceSessions, terminateOtherInstances } from '../sql/statements';

const POLL_MS = 50;

/**
 * Ends every other syncrep server's session on each claimed node and waits until they are gone.
 * A follower checks the epoch without a lock (a prepared transaction keeps its locks, which would
 * hold the claim back), so an apply that passed the check just before the claim could still
 * PREPARE after it: ending its session aborts it. Once this returns, every transaction of the old
 * epoch on these nodes is committed, aborted, or listed in pg_prepared_xacts.
 */
export async function fenceSessions(nodes: readonly PgNode[], applicationName: string, timeoutMs: number): Promise<void> {
  await Promise.all(
    nodes.map(async (node) => {
      await rows(node.pool, terminateOtherInstances(applicationName));
      const deadline = Date.now() + timeoutMs;
      while ((await rows(node.pool, otherInstanceSessions(applicationName))).length > 0) {
        if (Date.now() > deadline) throw new Error(`other servers' sessions on ${node.name} did not end within ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    }),
  );
}
