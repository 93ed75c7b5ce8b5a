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

/** One node's lock session: connected once and kept, until it fails or the server stops. */
interface LockSession {
  client: Client;
  connected: Promise<void>;
  broken: boolean;
}

/**
 * One actor per node, across every server sharing the cluster: catch-up, rebuild, in-doubt
 * settling, marking and trimming a node run only while holding a session advisory lock on that
 * node itself, held for the whole action. What enforces it is the node, not any server's memory;
 * a server that dies (or is fenced by a promotion's barrier) loses its session and with it the
 * lock. A second action finds it taken and is not waited for (unless it asks to wait): it fails
 * with NodeBusyError and its caller retries on its next round, reading the outcome from the node.
 *
 * Each node has one lock session of this server, kept open: the housekeeping of every round takes
 * the lock, and a session per action cost a backend start each time on every follower, under
 * load. Advisory locks are re-entrant within a session, so actions of this server on one node
 * take turns in a queue of this object first (a second one is refused or waits, as for another
 * server's).
 */
export class NodeLocks {
  private readonly sessions = new Map<string, LockSession>();
  /** The end of the last action queued per node and key: the next one starts after it. */
  private readonly queues = new Map<string, Promise<void>>();
  private readonly busy = new Set<string>();
  private stopped = false;

  constructor(
    /** Shown in pg_stat_activity beside the server's other sessions (the barrier ends them together). */
    private readonly applicationName: string,
    /** The database timeout: bounds connecting, and is the longest an operator's action waits for a lock. */
    readonly waitMs: number,
  ) {}

  /**
   * Runs `work` holding `node`'s lock (`work` may call `held()` before a step that must be its
   * only actor: it fails once the lock session is gone); rejects with NodeBusyError, without
   * running it, when the lock is still taken after `waitMs` (0: not waited for). Short actions (a
   * mark) wait out the housekeeping of a round; a repair never waits for another.
   */
  async exclusively<T>(
    node: PgNode,
    action: string,
    work: (held: () => Promise<void>) => Promise<T>,
    waitMs = 0,
    key = NODE_LOCK,
  ): Promise<T> {
    const deadline = Date.now() + waitMs;
    const slot = `${node.name}/${key}`;
    if (this.busy.has(slot) && waitMs <= 0) throw new NodeBusyError(node.name, action);
    const before = this.queues.get(slot) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const queued = before.then(() => mine);
    this.queues.set(slot, queued);
    // Cleared only once every action queued before this one has ended too: a waiter that gives up
    // must not make the slot look free while the action it waited for still runs.
    void queued.then(() => {
      if (this.queues.get(slot) === queued) this.queues.delete(slot);
    });
    let entered = false;
    try {
      if (!(await withinTime(before, deadline - Date.now()))) throw new NodeBusyError(node.name, action);
      entered = true;
      this.busy.add(slot);
      const session = await this.session(node);
      const taken = await take(session.client, Math.max(0, deadline - Date.now()), key).catch((error: unknown) => {
        this.drop(node.name, session);
        throw error;
      });
      if (!taken) throw new NodeBusyError(node.name, action);
      try {
        return await work(() => stillHeld(session, node.name, key));
      } finally {
        await session.client.query('SELECT pg_advisory_unlock($1)', [key]).catch(() => this.drop(node.name, session));
      }
    } finally {
      if (entered) this.busy.delete(slot);
      release();
    }
  }

  /**
   * Ends every lock session (releasing whatever they hold), once the actions under way have ended
   * or `waitMs` has passed: ending a session under a running action would free its node for
   * another server while the action still writes.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    await withinTime(
      Promise.all([...this.queues.values()]).then(() => undefined),
      this.waitMs,
    );
    const sessions = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(sessions.map((s) => s.client.end().catch(() => undefined)));
  }

  private async session(node: PgNode): Promise<LockSession> {
    if (this.stopped) throw new Error('the server is stopping');
    let session = this.sessions.get(node.name);
    if (!session || session.broken) {
      const client = new Client({
        connectionString: node.url,
        // The server's own name: a promotion's barrier ends other servers' lock sessions, not this one's.
        application_name: this.applicationName,
        connectionTimeoutMillis: this.waitMs,
        // A node that stops answering (SIGSTOP, a partition dropping packets) must fail the lock's
        // queries, not hang a promotion or a round behind them; the session is then dropped.
        query_timeout: Math.max(this.waitMs, MARK_WAIT_MS) + 1_000,
        keepAlive: true,
      });
      const fresh: LockSession = { client, connected: client.connect().then(() => undefined), broken: false };
      // A node restart or a barrier ends the session, and with it the locks it held.
      client.on('error', () => this.drop(node.name, fresh));
      client.on('end', () => this.drop(node.name, fresh));
      this.sessions.set(node.name, fresh);
      session = fresh;
    }
    try {
      await session.connected;
    } catch (error) {
      this.drop(node.name, session);
      throw error;
    }
    return session;
  }

  private drop(node: string, session: LockSession): void {
    session.broken = true;
    if (this.sessions.get(node) === session) this.sessions.delete(node);
    void session.client.end().catch(() => undefined);
  }
}

/** Fails unless `session` still holds `key` (it may have died with the node's restart meanwhile). */
async function stillHeld(session: LockSession, node: string, key: number): Promise<void> {
  const { rows } = await session.client
    .query<{ held: boolean }>(
      "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted " +
        'AND classid::bigint = ($1::bigint >> 32) AND objid::bigint = ($1::bigint & 4294967295) AND objsubid = 1) AS held',
      [key],
    )
    .catch(() => ({ rows: [{ held: false }] }));
  if (session.broken || !rows[0].held)
    throw new Error(`the lock on ${node} was lost (its session ended): another actor may have started; retried later`);
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
  } finally {
    await session.query('RESET lock_timeout').catch(() => undefined);
  }
}

/** True once `promise` settles within `ms` (at once when ms <= 0 and it has settled already). */
async function withinTime(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), Math.max(0, ms))));
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
