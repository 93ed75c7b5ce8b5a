import type { Logger } from '../../logger';
import type { FollowerNode } from '../nodes/cluster-node';
import type { Cluster } from '../nodes/cluster';
import { transition } from '../nodes/transitions';
import { missingPositions } from './log-scan';
import { inTransaction, row, rows } from '../sql/sql';
import { leadsActively } from '../sql/epoch-statements';
import {
  deleteLogUpTo,
  forgetAppliedUpTo,
  horizonPassed,
  positionBeyond,
  positionHorizon,
  raiseTrimPoint,
  raiseWatermark,
  watermark as watermarkOf,
} from '../sql/trim-statements';
import { NodeBusyError, type NodeLocks } from '../nodes/node-lock';
import { leaveWriteSet } from '../recovery/write-set';

/**
 * Keeps the leader's log bounded. An entry goes once every follower has applied it, or once it
 * is more than `retention` entries old, whatever the followers: a follower left below the trim
 * point is NEEDS_RESYNC and is rebuilt from a snapshot.
 *
 * Positions are taken before commit, so "every follower has applied everything up to P" is only
 * meaningful once no transaction can still commit a position at or below P. The trimmer reads the
 * position sequence together with the leader's transaction horizon, and trusts that position only
 * after every transaction running at that moment has ended.
 */
export class LogTrimmer {
  private pending: { horizon: bigint; xid: string } | undefined;
  private settled = 0n;
  /** The epoch and leader the horizon was read from: a promotion starts it over. */
  private term = '';

  constructor(
    private readonly cluster: Cluster,
    private readonly locks: NodeLocks,
    private readonly retention: number,
    private readonly log: Logger,
  ) {}

  /** One round: move the settled horizon, then the followers' watermarks, then trim. */
  async round(): Promise<void> {
    const term = `${this.cluster.epoch}:${this.cluster.leader.name}`;
    if (term !== this.term) {
      // Positions and transaction ids of another leader say nothing about this one.
      this.term = term;
      this.pending = undefined;
      this.settled = 0n;
    }
    await this.advanceHorizon();
    for (const follower of this.cluster.followers) {
      if (follower.state.kind === 'IN_SYNC' && this.settled > follower.watermark)
        await this.locks.exclusively(follower, 'raising its watermark', () => this.advanceWatermark(follower)).catch(() => undefined);
    }
    await this.trim();
  }

  private async advanceHorizon(): Promise<void> {
    const leader = this.cluster.leader.pool;
    if (this.pending) {
      const { done } = await row(leader, horizonPassed(this.pending.xid));
      if (!done) return;
      this.settled = this.pending.horizon;
    }
    const { horizon, xid } = await row(leader, positionHorizon());
    this.pending = { horizon: BigInt(horizon), xid };
  }

  /**
   * Raises a follower's watermark to the first settled position it lacks, and drops its
   * per-position rows below. Under its node lock, from the watermark the node records: another
   * server may have rebuilt it since this one last looked, lowering it, and a scan from a
   * remembered, higher one would skip what the rebuild left it lacking.
   */
  private async advanceWatermark(follower: FollowerNode): Promise<void> {
    follower.watermark = BigInt((await row(follower.pool, watermarkOf())).upto);
    if (this.settled <= follower.watermark) return;
    let watermark = this.settled;
    for await (const { missing } of missingPositions(this.cluster.leader, follower, follower.watermark, this.settled)) {
      if (missing.length > 0) {
        watermark = BigInt(missing[0]) - 1n;
        break;
      }
    }
    if (watermark <= follower.watermark) return;
    await inTransaction(follower.pool, async (client) => {
      await rows(client, raiseWatermark(watermark));
      await rows(client, forgetAppliedUpTo(watermark));
    });
    follower.watermark = watermark;
  }

  /** The follower's copy of the log, trimmed as the leader's was, unless it lacks what would go (rebuilt meanwhile elsewhere). */
  private async trimFollowerLog(follower: FollowerNode, upto: bigint): Promise<void> {
    await this.locks.exclusively(follower, 'trimming its log', () =>
      inTransaction(follower.pool, async (client) => {
        if (BigInt((await row(client, watermarkOf())).upto) < upto) return;
        await client.query(deleteLogUpTo(upto));
        await rows(client, raiseTrimPoint(upto));
      }),
    );
  }

  /**
   * Each follower's watermark as the node records it (a rebuild by another server lowers it); the
   * last one known for a follower that does not answer.
   */
  private async recordedWatermarks(): Promise<void> {
    await Promise.all(
      this.cluster.followers.map(async (follower) => {
        const recorded = await row(follower.pool, watermarkOf()).catch(() => undefined);
        if (recorded) follower.watermark = BigInt(recorded.upto);
      }),
    );
  }

  private async trim(): Promise<void> {
    await this.recordedWatermarks();
    const inSync = this.cluster.followers.filter((f) => f.state.kind === 'IN_SYNC');
    const lagging = this.cluster.followers.filter((f) => f.state.kind !== 'IN_SYNC');
    // In-sync followers are never trimmed past; lagging ones only up to the retention bound.
    const [beyond] = await rows(this.cluster.leader.pool, positionBeyond(this.retention));
    const bound = beyond ? BigInt(beyond.position) : 0n;
    const laggingFloor = lagging.length === 0 ? this.settled : max(min(lagging.map((f) => f.watermark)), bound);
    let upto = min([this.settled, laggingFloor, ...inSync.map((f) => f.watermark)]);
    if (upto <= 0n) return;
    // A follower trimmed past can no longer catch up: it leaves the write set (NEEDS_RESYNC) only
    // once marked on the node (under its node lock) and recorded on the leader, so that no
    // promotion picks it after writes went on without it. One that cannot be marked stays where it
    // is (in sync mode all, still a target). One another actor holds (a repair under way, whose
    // catch-up reads this very log) is not trimmed past this round.
    const marked = new Set<FollowerNode>();
    for (const follower of this.cluster.followers.filter((f) => f.watermark < upto)) {
      const reason = `the log no longer holds what it lacks (trimmed up to ${upto})`;
      await this.locks
        .exclusively(follower, 'marking it for a rebuild', () => leaveWriteSet(this.cluster, follower, 'rebuilding', reason))
        .then(
          () => marked.add(follower),
          (error) => {
            if (error instanceof NodeBusyError) upto = min([upto, follower.watermark]);
          },
        );
    }
    if (upto <= 0n) return;
    // One transaction: a trim point below what is deleted would let catch-up skip a deleted entry.
    const { leader, epoch } = this.cluster;
    const deleted = await inTransaction(leader.pool, async (client) => {
      // Only an active leader of this epoch trims: a promotion in progress still needs every log.
      // (No row lock: this transaction must not hold up a promotion's claim, nor wait with it.)
      if ((await rows(client, leadsActively(epoch, leader.name))).length === 0) throw new Error('the leader is not active at this epoch');
      const result = await client.query(deleteLogUpTo(upto));
      await rows(client, raiseTrimPoint(upto));
      return result.rowCount ?? 0;
    });
    for (const follower of this.cluster.followers) {
      if (follower.watermark < upto) {
        if (marked.has(follower))
          transition(follower, { kind: 'log-trimmed', reason: `the log no longer holds what it lacks (trimmed up to ${upto})` }, this.log);
        // Followers keep the log too (a promoted one serves catch-up from it), trimmed to the same point.
      } else await this.trimFollowerLog(follower, upto).catch(() => undefined);
    }
    if (deleted > 0) this.log.debug({ upto: upto.toString(), deleted }, 'log trimmed');
  }
}

function min(values: bigint[]): bigint {
  return values.reduce((a, b) => (b < a ? b : a));
}

function max(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}
