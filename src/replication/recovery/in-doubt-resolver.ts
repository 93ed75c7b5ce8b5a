import type { Logger } from '../../logger';
import type { PgNode } from '../nodes/cluster-node';
import type { Cluster } from '../nodes/cluster';
import { epochOf } from '../failover/epoch';
import { GID_PREFIX, GidSource } from '../write/gid';
import type { InstanceLiveness } from './instance-liveness';
import { describeFailure, literal, row, rows, withClient } from '../sql/sql';
import { preparedGids } from '../sql/instance-statements';
import { isDecided } from '../sql/log-statements';
import type { NodeLocks } from '../nodes/node-lock';

export interface InDoubtOptions {
  /** Gids of this server's writes between PREPARE and their outcome. */
  inFlight: Set<string>;
  gids: GidSource;
  /** Tells a live server instance (whose prepared transactions may be in flight) from a dead one. */
  liveness: InstanceLiveness;
}

/**
 * Settles prepared transactions left behind by a crash between PREPARE and COMMIT PREPARED.
 * The current leader's syncrep_log is the decision record: a gid found there is committed, a gid
 * not found there is rolled back once no live server can still decide it: one of ours not in
 * flight, one of a server instance that no longer holds its liveness session, or one of an older
 * epoch (the promotion that ended it fenced every node, so no server can decide it any more, and
 * the new leader's log holds every write of it that a client was told succeeded). Only syncrep's
 * gids are touched, and only on a node at this server's epoch and leader, decided by a leader
 * that still leads it: a server a promotion left behind settles nothing.
 */
export class InDoubtResolver {
  constructor(
    private readonly cluster: Cluster,
    private readonly options: InDoubtOptions,
    private readonly locks: NodeLocks,
    private readonly log: Logger,
  ) {}

  /**
   * Settles the prepared transactions `node` holds that no live server can still decide: on a
   * follower, under its node lock (taken here, unless the caller `holdsLock`, as a rejoin does);
   * one busy with another actor is settled on a later round.
   */
  async resolve(node: PgNode, holdsLock = false): Promise<void> {
    const settle = await this.settleable(node);
    if (settle.length === 0) return;
    if (holdsLock || node.role === 'LEADER') return this.settle(node, settle);
    await this.locks.exclusively(node, 'settling in-doubt transactions', () => this.settle(node, settle));
  }

  private async settleable(node: PgNode): Promise<string[]> {
    const { inFlight, gids, liveness } = this.options;
    const { epoch, leader } = this.cluster;
    const prepared = await rows(node.pool, preparedGids(GID_PREFIX, epoch, leader.name));
    const settle: string[] = [];
    for (const { gid } of prepared) {
      if (inFlight.has(gid)) continue;
      const instance = GidSource.instanceOf(gid);
      const position = GidSource.positionOf(gid);
      if (!instance || position === undefined) continue;
      const ended = epochOf(position) < epoch;
      if (!ended && instance !== gids.instance && (await liveness.isAlive(instance))) continue;
      settle.push(gid);
    }
    if (settle.length === 0) return settle;
    // One of ours that was in flight when listed may have ended since (it left inFlight after its
    // COMMIT PREPARED): only what is still prepared now is left behind.
    const still = new Set((await rows(node.pool, preparedGids(GID_PREFIX, epoch, leader.name))).map((p) => p.gid));
    return settle.filter((gid) => still.has(gid));
  }

  private async settle(node: PgNode, settle: readonly string[]): Promise<void> {
    const { epoch, leader } = this.cluster;
    for (const gid of settle) {
      const { decided, current } = await row(leader.pool, isDecided(gid, epoch, leader.name));
      if (!current) return;
      const verb = decided ? 'COMMIT' : 'ROLLBACK';
      try {
        await withClient(node.pool, (client) => client.query(`${verb} PREPARED ${literal(gid)}`));
        this.log.info({ node: node.name, gid, outcome: verb }, 'in-doubt transaction settled');
      } catch (error) {
        // Another server may have settled it first; it is gone either way.
        this.log.debug({ node: node.name, gid, failure: describeFailure(error) }, 'in-doubt transaction not settled here');
      }
    }
  }
}
