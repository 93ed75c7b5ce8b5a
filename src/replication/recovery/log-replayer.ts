import type { PoolClient } from 'pg';
import type { Logger } from '../../logger';
import type { FollowerNode } from '../nodes/cluster-node';
import type { Cluster } from '../nodes/cluster';
import { applyOn, applySql } from '../sql/apply-sql';
import { missingPositions } from '../log/log-scan';
import type { Change } from '../change';
import { inTransaction, isServerError, rows, withRollback } from '../sql/sql';
import { logEntries } from '../sql/log-statements';
import { SqlState } from '../../errors/sqlstate';

/** Scans of one replay: each retry follows a write that committed here meanwhile, so a few suffice. */
const REPLAY_ATTEMPTS = 5;

/** Rounds of replay before the gate is taken, each from a snapshot of its own: writes go on meanwhile. */
const CHASE_ROUNDS = 5;

/** How a replay reads the leader's log: one snapshot for the whole replay. */
const SNAPSHOT = 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY';

/**
 * Replays onto a follower, in position order and in batches, the positions of the leader's log it
 * has no record of applying (catch-up's replays; its caller holds the follower's node lock).
 */
export class LogReplayer {
  constructor(
    private readonly cluster: Cluster,
    private readonly batchSize: number,
    private readonly log: Logger,
  ) {}

  /**
   * Replays, while writes go on, what the follower lacks, round after round (each from a snapshot
   * of its own) until a round finds little left; returns how many. What is left, catch-up replays
   * with new commits held back.
   */
  async chase(follower: FollowerNode): Promise<number> {
    let replayed = 0;
    for (let round = 0; round < CHASE_ROUNDS; round++) {
      const n = await this.replay(follower);
      replayed += n;
      if (n < this.batchSize) break;
    }
    return replayed;
  }

  /**
   * Replays every position the follower lacks of those committed on the leader when the replay
   * started; returns how many. The leader's log is read in one REPEATABLE READ snapshot: positions
   * commit out of order, and a log read page after page while writes go on can show a write of a
   * row (r) without the earlier write of that row (p) it follows, which committed after the scan
   * passed its position; replaying r first is refused as divergence. Two writes of one row take
   * their positions in the order they lock it, and the later one locks it only once the earlier is
   * visible, so a snapshot that holds r holds p: replayed in position order, it is exact. Writes
   * that commit after the snapshot (at any position) are left to the next replay.
   *
   * While it catches up, a follower may also take new writes (sync mode `all`): one may be
   * prepared there when the scan sees its position missing and commit before the replay records
   * it, which then fails on syncrep_applied's key. Nothing was applied by the failed batch, so it
   * scans again.
   */
  async replay(follower: FollowerNode): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await inTransaction(this.cluster.leader.pool, (log) => this.replayOnce(follower, log), SNAPSHOT);
      } catch (error) {
        const raced = isServerError(error) && error.code === SqlState.UniqueViolation && error.constraint === 'syncrep_applied_pkey';
        if (!raced || attempt >= REPLAY_ATTEMPTS) throw error;
      }
    }
  }

  private async replayOnce(follower: FollowerNode, log: PoolClient): Promise<number> {
    let replayed = 0;
    for await (const { missing, scannedTo } of missingPositions({ pool: log }, follower, follower.watermark)) {
      for (let i = 0; i < missing.length; i += this.batchSize) {
        replayed += await this.apply(follower, log, missing.slice(i, i + this.batchSize));
      }
      if (scannedTo > follower.appliedPosition) follower.appliedPosition = scannedTo;
    }
    return replayed;
  }

  private async apply(follower: FollowerNode, log: PoolClient, positions: string[]): Promise<number> {
    const { leader, epoch } = this.cluster;
    const entries = (await rows(log, logEntries(positions))).map((e) => ({
      position: e.position,
      gid: e.gid,
      changes: e.changes as Change[],
    }));
    if (entries.length === 0) return 0;
    this.log.debug({ node: follower.name, positions: entries.map((e) => e.position) }, 'replaying');
    // One transaction, one round trip, strictly in position order.
    const apply = applySql(entries, { epoch, leader: leader.name }, 'replay', this.cluster.statements);
    await withRollback(follower.pool, (client) => applyOn(client, apply, 'COMMIT'));
    return entries.length;
  }
}
