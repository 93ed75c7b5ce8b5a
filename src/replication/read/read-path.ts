import { GraphQLError } from 'graphql';
import { QueryFailedError } from 'typeorm';
import { ErrorCode, userError } from '../../errors/error-code';
import type { Logger } from '../../logger';
import type { Roster } from '../nodes/cluster';
import type { PgNode } from '../nodes/cluster-node';
import { transition } from '../nodes/transitions';
import { describeFailure, isPlanChanged, isPoolTimeout, isServerError } from '../sql/sql';
import { EntityReader } from './entity-reader';
import { KeyReadBatcher, NodeStoppedServing, type ReadBatchLimits } from './key-read-batcher';
import { readAtLeast, type PositionAttempt, type PositionWait } from './position-read';
import { readAtPosition } from './read-at-position';
import type { ReadMetrics } from './read-metrics';
import { inSnapshot, onClient, onPool } from './read-on-node';
import { ReadRouter, type ReadTarget } from './read-router';
import { ReadStatements } from './read-statements';

/** Collects, per request, the nodes that answered its reads. */
export interface ReadTracker {
  servedBy: Set<string>;
}

/** How a read runs. */
export interface ReadOptions {
  /**
   * Every query of `work` in one REPEATABLE READ transaction: a read of rows and the rows they
   * refer to (nested fields) sees one state of the node. A read with `atLeast` always is.
   */
  snapshot?: boolean;
}

/** How reads run (from the settings, read once). */
export interface ReadSettings {
  /** READ_WAIT_MS and HEALTH_TIMEOUT_MS: how long a read at a position waits, and each check. */
  positionWait: PositionWait;
  /** How plain reads by key of one node are grouped. */
  limits: ReadBatchLimits;
  metrics: ReadMetrics;
}

/**
 * The read path: which node serves (read-router.ts), how the read runs there (plain, in a
 * snapshot, or at a position), and what a node that fails to answer means for the read and for
 * the node. Reads of one row by key on a node go through that node's KeyReadBatcher.
 */
export class ReadPath {
  private readonly router: ReadRouter;
  private readonly statements = new ReadStatements();
  private readonly keyReads = new Map<PgNode, KeyReadBatcher>();

  constructor(
    private readonly cluster: Roster,
    private readonly log: Logger,
    private readonly settings: ReadSettings,
  ) {
    this.router = new ReadRouter(cluster);
  }

  /**
   * Runs a read on the node `target` picks. With no pinned node, a node that fails to answer is
   * skipped for the next candidate; a pinned node that fails is reported as NODE_UNAVAILABLE.
   * With `target.atLeast`, only a node that has committed that position serves it, checked in the
   * read's own first statement on that node (read-at-position.ts).
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
      const { node, value } = await readAtLeast(candidates, position, this.settings.positionWait, pinned, tryNode);
      return this.served(node, tracker, value);
    }
    let failure = 'no node could serve the read';
    for (const node of candidates) {
      const run = () =>
        snapshot
          ? inSnapshot(node.pool, (client) => work(new EntityReader(node.dataSource, this.statements, onClient(client))))
          : work(new EntityReader(node.dataSource, this.statements, onPool(node.pool), this.keyReadsOf(node)));
      const attempt = await this.tryNode(node, async () => ({ kind: 'served', value: await run() }));
      if (attempt.kind === 'served') return this.served(node, tracker, attempt.value);
      if (attempt.kind === 'failed')
        failure = attempt.stopped ? attempt.failure : `node "${node.name}" did not answer (${attempt.failure})`;
    }
    throw userError(ErrorCode.NodeUnavailable, failure, { node: candidates.length === 1 ? candidates[0].name : null });
  }

  /** Runs one try of a read on `node`. An error the node's server sent is the read's own (thrown); losing the node is a `failed` try. */
  private async tryNode<T>(node: PgNode, run: () => Promise<PositionAttempt<T>>): Promise<PositionAttempt<T>> {
    try {
      // A prepared read planned before a column's type changed (an online migration) fails on
      // every connection that had prepared it, for good: that connection is closed, and the read
      // tried again on another.
      for (let tries = 1; ; tries++) {
        try {
          return await run();
        } catch (error) {
          if (!isPlanChanged(error) || tries >= PLAN_RETRIES) throw error;
        }
      }
    } catch (error) {
      // The read's own refusal (too many nested objects, say): the node is fine.
      if (error instanceof GraphQLError) throw error;
      // Its state changed while the read waited: the read moves on, and the state stays as it was set.
      if (error instanceof NodeStoppedServing) return { kind: 'failed', failure: error.message, stopped: true };
      const cause: unknown = error instanceof QueryFailedError ? error.driverError : error;
      if (isServerError(cause)) throw error;
      // No connection of this server's pool to it came free in time: the node is not known to be
      // down, only this server is loaded. Try the next node, and leave its state to the monitor.
      if (isPoolTimeout(cause)) {
        return { kind: 'failed', failure: 'every connection to it is busy' };
      }
      // Stop routing reads to it now; the health monitor brings it back once it answers.
      transition(node, { kind: 'unreachable', reason: describeFailure(cause) }, this.log);
      return { kind: 'failed', failure: describeFailure(cause) };
    }
  }

  private keyReadsOf(node: PgNode): KeyReadBatcher {
    let batcher = this.keyReads.get(node);
    if (!batcher) {
      // A node object replaced by a role change serves no more: its batches fail over.
      for (const known of this.keyReads.keys()) if (!this.cluster.nodes.includes(known)) this.keyReads.delete(known);
      const serves = () => this.cluster.nodes.includes(node);
      batcher = new KeyReadBatcher(node, serves, this.statements, this.settings.limits, this.settings.metrics);
      this.keyReads.set(node, batcher);
    }
    return batcher;
  }

  private served<T>(node: PgNode, tracker: ReadTracker, value: T): T {
    node.lastContact = new Date();
    tracker.servedBy.add(node.name);
    return value;
  }
}

/** Tries of one read that met changed column types: each one's connection is closed (see withClient), the next gets another. */
const PLAN_RETRIES = 100;
