import type { Logger } from '../../logger';
import type { FollowerNode } from '../nodes/cluster-node';
import type { Cluster } from '../nodes/cluster';
import { transition } from '../nodes/transitions';
import { missingPositions } from './log-scan';
import { inTransaction, row, rows } from '../sql/sql';
import {
  deleteLogUpTo,
  forgetAppliedUpTo,
  horizonPassed,
  positionBeyond,
  positionHorizon,
  raiseTrimPoint,
  raiseWatermark,
  setDivergenceMark,
  leadsActively,
} from '../sql/statements';

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
      if (follower.state.kind === 'IN_SYNC') await this.advanceWatermark(follower).catch(() => undefined);
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

  /** Raises a follower's watermark to the first settled position it lacks, and drops its per-position rows below. */
  private async advanceWatermark(follower: FollowerNode): Promise<void> {
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

  /** The follower's copy of the log, trimmed as the leader's was. */
  private async trimFollowerLog(follower: FollowerNode, upto: bigint): Promise<void> {
    await inTransaction(follower.pool, async (client) => {
      await client.query(deleteLogUpTo(upto));
      await rows(client, raiseTrimPoint(upto));
    });
  }

  private async trim(): Promise<void> {
    const inSync = this.cluster.followers.filter((f) => f.state.kind === 'IN_SYNC');
    const lagging = this.cluster.followers.filter((f) => f.state.kind !== 'IN_SYNC');
    // In-sync followers are never trimmed past; lagging ones only up to the retention bound.
    const [beyond] = await rows(this.cluster.leader.pool, positionBeyond(this.retention));
    const bound = beyond ? BigInt(beyond.position) : 0n;
    const laggingFloor = lagging.length === 0 ? this.settled : max(min(lagging.map((f) => f.watermark)), bound);
    const upto = min([this.settled, laggingFloor, ...inSync.map((f) => f.watermark)]);
    if (upto <= 0n) return;
    // A follower trimmed past can no longer catch up: it leaves the write set (NEEDS_RESYNC) only
    // once marked on the node, so that no promotion picks it after writes went on without it. One
    // that cannot be marked stays where it is (in sync mode all, still a target).
    const marked = new Set<FollowerNode>();
    for (const follower of this.cluster.followers.filter((f) => f.watermark < upto)) {
      const reason = `the log no longer holds what it lacks (trimmed up to ${upto})`;
      await rows(follower.pool, setDivergenceMark(reason, 'rebuilding')).then(
        () => marked.add(follower),
        () => undefined,
      );
    }
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
