import { GraphQLError } from 'graphql';
import { QueryFailedError, type EntityTarget, type ObjectLiteral } from 'typeorm';
import { ErrorCode, badInput, userError } from '../errors/error-code';
import type { ConsistencyReport } from './verify/consistency';
import type { HealthMonitor } from './recovery/health-monitor';
import type { Verifier } from './verify/verifier';
import type { Promoter, PromotionResult } from './failover/promoter';
import type { Cluster } from './nodes/cluster';
import type { Logger } from '../logger';
import type { FollowerNode, PgNode } from './nodes/cluster-node';
import { transition } from './nodes/transitions';
import type { Write } from './entities/write-tx';
import { ReadRouter, type ReadTarget } from './read/read-router';
import { readAtLeast, type PositionAttempt, type PositionWait } from './read/position-read';
import { readAtPosition } from './read/read-at-position';
import { EntityReader, type RunRead } from './read/entity-reader';
import { inSnapshot, onClient, onPool } from './read/read-on-node';
import { ReadStatements } from './read/read-statements';
import { describeFailure, isServerError, publicFailure, row } from './sql/sql';
import { positionsNeverTaken } from './sql/statements';
import type { SyncPolicy } from './write/sync-policy';
import type { WriteBatcher } from './write/write-batcher';
import type { WriteOutcome } from './write/write-outcome';
import { wasNotAttempted } from './write/batch-errors';

/** Whether this server can take writes in its sync mode now, why not, and every node's state. */
export interface Readiness {
  ready: boolean;
  reasons: string[];
  nodes: { name: string; role: string; state: string }[];
}

/** Collects, per request, the nodes that answered its reads. */
export interface ReadTracker {
  servedBy: Set<string>;
}

/** The operator's tools: comparing the nodes, rebuilding a follower, promoting one. */
export interface AdminOps {
  verifier: Verifier;
  monitor: HealthMonitor;
  promoter: Promoter;
}

/** How a read runs. */
export interface ReadOptions {
  /**
   * Every query of `work` in one REPEATABLE READ transaction: a read of rows and the rows they
   * refer to (nested fields) sees one state of the node. A read with `atLeast` always is.
   */
  snapshot?: boolean;
}

/**
 * The one door between the API and the nodes: resolvers write and read through it, and nothing
 * else in the API ever talks to a follower.
 */
export class ReplicationService {
  private readonly router: ReadRouter;
  private readonly statements = new ReadStatements();

  constructor(
    private readonly cluster: Cluster,
    private readonly batcher: WriteBatcher,
    private readonly log: Logger,
    private readonly admin: AdminOps,
    private readonly policy: SyncPolicy,
    /** How long a read at a position waits for a node to apply it, and for each check. */
    private readonly positionWait: PositionWait,
  ) {
    this.router = new ReadRouter(cluster);
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
   * Runs a read on the node `target` picks. With no pinned node, a node that fails to answer is
   * skipped for the next candidate; a pinned node that fails is reported as NODE_UNAVAILABLE.
   * With `target.atLeast`, only a node that has committed that position serves it, checked in the
   * read's own transaction on that node (position-read.ts).
   */
  async read<T>(
    target: ReadTarget | null | undefined,
    tracker: ReadTracker,
    work: (reader: EntityReader) => Promise<T>,
    options: ReadOptions = {},
  ): Promise<T> {
    const candidates = this.router.candidates(target);
    const pinned = target?.node != null || (target?.role != null && target.role !== 'ANY');
    const snapshot = options.snapshot === true;
    if (target?.atLeast != null) {
      const position = BigInt(target.atLeast);
      const tryNode = (node: PgNode, checkMs: number) =>
        this.tryNode(node, () => readAtPosition(node, position, checkMs, snapshot, this.statements, work));
      const { node, value } = await readAtLeast(candidates, position, this.positionWait, pinned, tryNode);
      return this.served(node, tracker, value);
    }
    let failure = 'no node could serve the read';
    for (const node of candidates) {
      const reader = (run: RunRead) => new EntityReader(node.dataSource, this.statements, run);
      const run = () => (snapshot ? inSnapshot(node.pool, (client) => work(reader(onClient(client)))) : work(reader(onPool(node.pool))));
      const attempt = await this.tryNode(node, async () => ({ kind: 'served', value: await run() }));
      if (attempt.kind === 'served') return this.served(node, tracker, attempt.value);
      if (attempt.kind === 'failed') failure = `node "${node.name}" did not answer (${attempt.failure})`;
    }
    throw userError(ErrorCode.NodeUnavailable, failure, { node: candidates.length === 1 ? candidates[0].name : null });
  }

  /** Runs one try of a read on `node`. An error the node's server sent is the read's own (thrown); losing the node is a `failed` try. */
  private async tryNode<T>(node: PgNode, run: () => Promise<PositionAttempt<T>>): Promise<PositionAttempt<T>> {
    try {
      return await run();
    } catch (error) {
      // The read's own refusal (too many nested objects, say): the node is fine.
      if (error instanceof GraphQLError) throw error;
      const cause: unknown = error instanceof QueryFailedError ? error.driverError : error;
      if (isServerError(cause)) throw error;
      // Every connection of this server's pool to it is busy: the node is not known to be down,
      // only this server is loaded. Try the next node, and leave its state alone.
      if (cause instanceof Error && /timeout exceeded when trying to connect/.test(cause.message)) {
        return { kind: 'failed', failure: 'every connection to it is busy' };
      }
      // Stop routing reads to it now; the health monitor brings it back once it answers.
      transition(node, { kind: 'unreachable', reason: describeFailure(cause) }, this.log);
      return { kind: 'failed', failure: describeFailure(cause) };
    }
  }

  private served<T>(node: PgNode, tracker: ReadTracker, value: T): T {
    node.lastContact = new Date();
    tracker.servedBy.add(node.name);
    return value;
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
