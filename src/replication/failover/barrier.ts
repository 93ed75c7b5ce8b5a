import type { PgNode } from '../nodes/cluster-node';
import { rows } from '../sql/sql';
import { sessionsLeft, terminateOtherInstances } from '../sql/epoch-statements';

const POLL_MS = 50;

/**
 * Ends every other syncrep server's session on each claimed node and waits until they are gone.
 * A follower checks the epoch without a lock (a prepared transaction keeps its locks, which would
 * hold the claim back), so an apply that passed the check just before the claim could still
 * PREPARE after it: ending its session aborts it. Once this returns, every transaction of the old
 * epoch on these nodes is committed, aborted, or listed in pg_prepared_xacts.
 *
 * It waits for the sessions it ended, not for every other server's session to be gone: those
 * servers reconnect at once (health rounds, retried rejoins, their pools), and a session opened
 * after the claim checks the epoch as the claim left it. Waiting for none at all could outlast the
 * timeout under load and leave the promotion half done.
 */
export async function fenceSessions(nodes: readonly PgNode[], applicationName: string, timeoutMs: number): Promise<void> {
  await Promise.all(
    nodes.map(async (node) => {
      const ended = (await rows(node.pool, terminateOtherInstances(applicationName))).map((s) => s.pid);
      const deadline = Date.now() + timeoutMs;
      while (ended.length > 0 && (await rows(node.pool, sessionsLeft(ended))).length > 0) {
        if (Date.now() > deadline) throw new Error(`other servers' sessions on ${node.name} did not end within ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    }),
  );
}
