import { QueryFailedError, type EntityTarget, type ObjectLiteral } from 'typeorm';
import { ErrorCode, badInput, userError } from '../errors/error-code';
import type { ConsistencyReport } from './verify/consistency';
import type { HealthMonitor } from './recovery/health-monitor';
import type { Verifier } from './verify/verifier';
import type { Promoter, PromotionResult } from './failover/promoter';
import type { Cluster } from './nodes/cluster';
import type { Logger } from '../logger';
import type { FollowerNode, PgNode } from './nodes/cluster-node';
import type { Write } from './entities/write-tx';
import type { ReadTarget } from './read/read-router';
import { ReadPath, type ReadOptions, type ReadSettings, type ReadTracker } from './read/read-path';
export type { ReadOptions, ReadTracker } from './read/read-path';
import type { EntityReader } from './read/entity-reader';
import { publicFailure, row } from './sql/sql';
import { positionsNeverTaken } from './sql/log-statements';
import type { SyncPolicy } from './write/sync-policy';
import type { WriteBatcher } from './write/write-batcher';
import type { WriteOutcome } from './write/write-outcome';
import { NodeBusyError } from './nodes/node-lock';
import { wasNotAttempted } from './write/batch-errors';

/** Whether this server can take writes in its sync mode now, why not, and every node's state. */
export interface Readiness {
  ready: boolean;
  reasons: string[];
  nodes: { name: string; role: string; state: string }[];
}

/** The operator's tools: comparing the nodes, rebuilding a follower, promoting one. */
export interface AdminOps {
  verifier: Verifier;
  monitor: HealthMonitor;
  promoter: Promoter;
}

/**
 * The one door between the API and the nodes: resolvers write and read through it, and nothing
 * else in the API ever talks to a follower.
 */
export class ReplicationService {
  private readonly reads: ReadPath;

  constructor(
    private readonly cluster: Cluster,
    private readonly batcher: WriteBatcher,
    private readonly log: Logger,
    private readonly admin: AdminOps,
    private readonly policy: SyncPolicy,
    /** How reads run: the wait at a position, the grouping of reads by key (read/read-path.ts). */
    reading: ReadSettings,
  ) {
    this.reads = new ReadPath(cluster, log, reading);
  }

  /**
   * Commits a write on the leader and every follower the sync mode requires: what `write.run`
   * changes through its WriteTx lands on every node as one position, or nowhere.
   */
  write<T>(write: Write<T>, tracker?: ReadTracker): Promise<WriteOutcome<T>> {
    // The leader that took it serves a mutation; one refused before any node was asked (invalid
    // input, the leader or too many followers known down) had no node.
    return this.batcher.submit(write).then(
      (outcome) => {
        tracker?.servedBy.add(outcome.committedOn[0]);
        return outcome;
      },
      (error: unknown) => {
        if (!wasNotAttempted(error)) tracker?.servedBy.add(this.cluster.leader.name);
        throw error;
      },
    );
  }

  /**
   * Runs `work` on the node `target` picks (read/read-path.ts): the next candidate when one fails
   * to answer, NODE_UNAVAILABLE when a pinned one does; with `target.atLeast`, only on a node that
   * has committed that position.
   */
  read<T>(
    target: ReadTarget | null | undefined,
    tracker: ReadTracker,
    work: (reader: EntityReader) => Promise<T>,
    options: ReadOptions = {},
  ): Promise<T> {
    return this.reads.read(target, tracker, work, options);
  }

  /** Whether this server can take writes now, and if not why (for `/readyz`). */
  readiness(): Readiness {
    const { reasons } = this.policy.writeBlockers(this.cluster.leader.state.kind === 'DOWN', this.cluster.followers);
    const nodes = this.cluster.nodes.map(({ name, role, state }) => ({ name, role, state: state.kind }));
    return { ready: reasons.length === 0, reasons, nodes };
  }

  /**
   * Every node with its role and state, leader first, and what the health monitor last measured of
   * it (position, lag, each with its time): reading them asks no node.
   */
  nodes(): readonly PgNode[] {
    return this.cluster.nodes;
  }

  /** Compares every in-sync (or diverged) follower with the leader; see consistency.ts. */
  consistency(): Promise<ConsistencyReport> {
    return this.admin.verifier.check();
  }

  /**
   * Rebuilds a follower from a snapshot of the leader, then catches it up, while writes go on,
   * and returns it (IN_SYNC). BAD_USER_INPUT for the leader or an unknown name; NODE_UNAVAILABLE
   * when the rebuild fails (the follower keeps a state saying why).
   */
  async resyncNode(name: string): Promise<PgNode> {
    const follower = this.follower(name);
    try {
      await this.admin.monitor.resync(follower);
    } catch (error) {
      if (error instanceof NodeBusyError) {
        throw userError(
          ErrorCode.NodeBusy,
          `node "${name}" is held by another action (a rebuild or catch-up, by this or another server); nothing was changed: try again once it ends (it is ${follower.state.kind})`,
          { node: name },
        );
      }
      const cause: unknown = error instanceof QueryFailedError ? error.driverError : error;
      throw userError(
        ErrorCode.NodeUnavailable,
        `node "${name}" could not be rebuilt (${publicFailure(cause)}); it is ${follower.state.kind}: try again once it answers`,
        { node: name },
      );
    }
    return follower;
  }

  /**
   * Makes follower `name` the leader of a new epoch without losing an acknowledged write (see
   * failover/promoter.ts). BAD_USER_INPUT for the leader or an unknown name, NODE_UNAVAILABLE for
   * an unreachable one, PROMOTION_UNSAFE when it cannot be proven safe and `allowDataLoss` is false.
   */
  promote(name: string, allowDataLoss: boolean): Promise<PromotionResult> {
    return this.admin.promoter.promote(name, allowDataLoss);
  }

  /** The epoch this server writes in. */
  get epoch(): bigint {
    return this.cluster.epoch;
  }

  private follower(name: string): FollowerNode {
    const node = this.cluster.byName(name);
    if (node?.role === 'FOLLOWER') return node;
    const followers = this.cluster.followers.map((f) => f.name).join(', ') || 'none';
    const rule = node
      ? `"${name}" is the leader, which every follower is rebuilt from; name a follower (${followers})`
      : `there is no node named "${name}"; name a follower (${followers})`;
    throw badInput('node', rule);
  }

  /**
   * True when the leader holds no row of `entity`'s table and has never taken a replication
   * position: a new cluster (for seeding). Not "the log is empty": the trimmer empties it, and a
   * cluster whose rows were all deleted must stay empty.
   */
  async isFresh(entity: EntityTarget<ObjectLiteral>): Promise<boolean> {
    const { leader } = this.cluster;
    if (await leader.dataSource.getRepository(entity).exists()) return false;
    return (await row(leader.pool, positionsNeverTaken())).fresh;
  }
}
