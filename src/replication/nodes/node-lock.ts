import { Client } from 'pg';
import type { PgNode } from './cluster-node';
import { SqlState } from '../../errors/sqlstate';

/** The advisory lock key every syncrep server takes on a node before it repairs or changes it. */
const NODE_LOCK = 7_361_626_001;

/** Taken on a promotion's candidate for the whole promotion: servers with AUTO_FAILOVER do not promote it at once. */
export const PROMOTION_LOCK = 7_361_626_002;

/** How long a mark waits for the node's lock: longer than a round's housekeeping, far shorter than a repair. */
export const MARK_WAIT_MS = 2_000;

/** Another server (or another action of this one) holds the node's lock: try again on a later round. */
export class NodeBusyError extends Error {
  constructor(node: string, action: string) {
    super(`${node} is being repaired or changed by another action (a catch-up, rebuild, trim or mark); ${action} is retried later`);
    this.name = 'NodeBusyError';
  }
}

/**
 * One actor per node, across every server sharing the cluster: catch-up, rebuild, in-doubt
 * settling, marking and trimming a node run only while holding a session advisory lock on that
 * node itself, taken on a session of their own and held for the whole action. What enforces it is
 * the node, not any server's memory; a server that dies (or is fenced by a promotion's barrier)
 * loses its session and with it the lock. A second action finds it taken and is not waited for:
 * it fails with NodeBusyError and its caller retries on its next round, reading the outcome from
 * the node.
 */
export class NodeLocks {
  constructor(
    /** Shown in pg_stat_activity beside the server's other sessions (the barrier ends them together). */
    private readonly applicationName: string,
    /** The database timeout: bounds connecting, and is the longest an operator's action waits for a lock. */
    readonly waitMs: number,
  ) {}

  /**
   * Runs `work` holding `node`'s lock (`work` may call `held()` before a step that must be its
   * only actor: it fails once the lock session is gone); rejects with NodeBusyError, without running it, when the
   * lock is still taken after `waitMs` (0: not waited for). Short actions (a mark) wait out the
   * housekeeping of a round; a repair never waits for another.
   */
  async exclusively<T>(
    node: PgNode,
    action: string,
    work: (held: () => Promise<void>) => Promise<T>,
    waitMs = 0,
    key = NODE_LOCK,
  ): Promise<T> {
    const session = new Client({
      connectionString: node.url,
      // The server's own name: a promotion's barrier ends other servers' lock sessions, not this one's.
      application_name: this.applicationName,
      connectionTimeoutMillis: this.waitMs,
    });
    session.on('error', () => undefined);
    try {
      await session.connect();
      if (!(await take(session, waitMs, key))) throw new NodeBusyError(node.name, action);
      return await work(() => stillHeld(session, node.name));
    } finally {
      // Ending the session releases the lock.
      await session.end().catch(() => undefined);
    }
  }
}

/** Fails unless `session` still holds the node's lock (it may have died with the node's restart meanwhile). */
async function stillHeld(session: Client, node: string): Promise<void> {
  // The session takes no other advisory lock.
  const { rows } = await session
    .query<{ held: boolean }>(
      "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted) AS held",
    )
    .catch(() => ({ rows: [{ held: false }] }));
  if (!rows[0].held) throw new Error(`the lock on ${node} was lost (its session ended): another actor may have started; retried later`);
}

async function take(session: Client, waitMs: number, key: number): Promise<boolean> {
  if (waitMs <= 0) {
    const { rows } = await session.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [key]);
    return rows[0].ok;
  }
  try {
    await session.query(`SET lock_timeout = ${Math.ceil(waitMs)}`);
    await session.query('SELECT pg_advisory_lock($1)', [key]);
    return true;
  } catch (error) {
    if ((error as { code?: string }).code === SqlState.LockNotAvailable) return false;
    throw error;
  }
}
