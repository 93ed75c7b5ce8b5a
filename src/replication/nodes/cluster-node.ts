import { Pool } from 'pg';
import type { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import type { FollowerState, LeaderState } from './node-state';
import { UNHEARD, type StateSink } from './state-sink';

/** The pool of a node not reached since startup: every connection attempt fails, asynchronously, as a refused one would. */
const UNREACHED = {
  totalCount: 0,
  connect: () => Promise.reject(new Error('connection failed: not reached since startup')),
  query: () => Promise.reject(new Error('connection failed: not reached since startup')),
} as unknown as Pool;

/** A node's highest committed position as the health monitor last read it from the node itself. */
export interface Progress {
  position: bigint;
  at: Date;
}

/**
 * How far a node was behind the leader when the health monitor last measured it: how many of the
 * leader's committed positions above its highest applied one it lacked, and how long ago the
 * oldest of them committed (the leader's own: 0 and 0).
 */
export interface Lag {
  positions: number;
  ms: number;
  at: Date;
}

/** What every node has: a name, its TypeORM DataSource and what the server last saw of it. */
abstract class NodeBase {
  lastError: string | undefined;
  /** When `lastError` was recorded (see `noteError`). */
  lastErrorAt: Date | undefined;
  /** When the node entered its current state (moved by `transition`); for its first state, when this server took it on. */
  stateSince = new Date();
  lastContact: Date | undefined;
  /** Read from the node every health round, whoever else answers (undefined: not read yet). */
  progress: Progress | undefined;
  /** Measured every health round that reaches the leader; kept, with its time, while the leader does not answer. */
  lag: Lag | undefined;
  /** State changes so far, by "FROM->TO" (counted by `transition`, exported as a metric). */
  readonly transitions = new Map<string, number>();

  /** The epoch recorded on the node itself, as of the last check (undefined: not read yet). */
  recordedEpoch: bigint | undefined;

  /** Where `transition` tells this node's state changes (the server's cluster events; see Cluster.listen). */
  sink: StateSink = UNHEARD;

  constructor(
    readonly name: string,
    readonly dataSource: DataSource,
    /** postgres:// URL (the instance liveness session connects to the leader's). */
    readonly url: string,
  ) {}

  /** Records a failure seen talking to the node, with its time, so an operator can tell an old one from a current one. */
  noteError(reason: string): void {
    this.lastError = reason;
    this.lastErrorAt = new Date();
  }

  /** Carries what this server saw of the node over to `to`, the same node in its other role (its lag is its old role's). */
  handOver(to: NodeBase): void {
    to.checks = this.checks;
    this.checks = undefined;
    to.lastError = this.lastError;
    to.lastErrorAt = this.lastErrorAt;
    to.progress = this.progress;
    to.lastContact = this.lastContact;
    to.recordedEpoch = this.recordedEpoch;
    to.sink = this.sink;
    // The replaced object tells no one: a read still holding it would report a state of the old role.
    this.sink = UNHEARD;
    for (const [move, count] of this.transitions) to.transitions.set(move, count);
  }

  private checks: Pool | undefined;

  /**
   * Two connections of their own for the health monitor: a node's main pool can be queued full by
   * a flood of reads, and a check waiting behind them would take a busy node for a dead one.
   */
  get healthPool(): Pool {
    if (!this.checks) {
      const options = this.dataSource.options as { applicationName?: string; connectTimeoutMS?: number };
      this.checks = new Pool({
        connectionString: this.url,
        max: 2,
        application_name: options.applicationName,
        connectionTimeoutMillis: options.connectTimeoutMS,
        idleTimeoutMillis: 30_000,
      });
      this.checks.on('error', () => undefined);
      this.checks.on('connect', (client) => client.on('error', () => undefined));
    }
    return this.checks;
  }

  /** Closes the health monitor's connections. */
  async closeHealthPool(): Promise<void> {
    const checks = this.checks;
    this.checks = undefined;
    await checks?.end().catch(() => undefined);
  }

  /** The pg pool TypeORM created for this node; the write path uses it directly to save round trips. */
  get pool(): Pool {
    // Not reached since startup: every call fails as a lost connection would, until the monitor connects it.
    return ((this.dataSource.driver as PostgresDriver).master as Pool | undefined) ?? UNREACHED;
  }
}

/** The node where every write is decided. */
export class LeaderNode extends NodeBase {
  readonly role = 'LEADER' as const;
  state: LeaderState = { kind: 'UP' };
}

/** A node that receives every write synchronously and can serve reads while IN_SYNC. */
export class FollowerNode extends NodeBase {
  readonly role = 'FOLLOWER' as const;
  state: FollowerState = { kind: 'IN_SYNC' };
  /** Highest position this follower is known to have applied. */
  appliedPosition = 0n;
  /** Every committed position at or below this is applied here (persisted in syncrep_watermark). */
  watermark = 0n;
}

/** A PostgreSQL node as the replication layer holds it (the API shows it as the GraphQL type ClusterNode). */
export type PgNode = LeaderNode | FollowerNode;
