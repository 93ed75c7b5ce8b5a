import type { Logger } from '../logger';
import { setState, type FollowerNode, type LeaderNode } from './cluster-node';
import { missingPositions } from './log-scan';
import { withClient } from './sql';

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
  private pending: { horizon: bigint; xmax: string } | undefined;
  private settled = 0n;

  constructor(
    private readonly leader: LeaderNode,
    private readonly followers: readonly FollowerNode[],
    private readonly retention: number,
    private readonly log: Logger,
  ) {}

  /** One round: move the settled horizon, then the followers' watermarks, then trim. */
  async round(): Promise<void> {
    await this.advanceHorizon();
    for (const follower of this.followers) {
      if (follower.state.kind === 'IN_SYNC') await this.advanceWatermark(follower).catch(() => undefined);
    }
    await this.trim();
  }

  private async advanceHorizon(): Promise<void> {
    const leader = this.leader.dataSource;
    if (this.pending) {
      const [{ done }] = await leader.query('SELECT pg_snapshot_xmin(pg_current_snapshot()) >= $1::xid8 AS done', [this.pending.xmax]);
      if (!done) return;
      this.settled = this.pending.horizon;
    }
    const [row] = await leader.query(
      `SELECT (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM syncrep_position)::text AS horizon,
              pg_snapshot_xmax(pg_current_snapshot())::text AS xmax`,
    );
    this.pending = { horizon: BigInt(row.horizon), xmax: row.xmax };
  }

  /** Raises a follower's watermark to the first settled position it lacks, and drops its per-position rows below. */
  private async advanceWatermark(follower: FollowerNode): Promise<void> {
    if (this.settled <= follower.watermark) return;
    let watermark = this.settled;
    for await (const { missing } of missingPositions(this.leader, follower, follower.watermark, this.settled)) {
      if (missing.length > 0) {
        watermark = BigInt(missing[0]) - 1n;
        break;
      }
    }
    if (watermark <= follower.watermark) return;
    await withClient(follower.pool, async (client) => {
      await client.query('BEGIN');
      await client.query('UPDATE syncrep_watermark SET upto = $1 WHERE upto < $1', [watermark.toString()]);
      await client.query('DELETE FROM syncrep_applied WHERE position <= $1', [watermark.toString()]);
      await client.query('COMMIT');
    });
    follower.watermark = watermark;
  }

  private async trim(): Promise<void> {
    const leader = this.leader.dataSource;
    const inSync = this.followers.filter((f) => f.state.kind === 'IN_SYNC');
    const lagging = this.followers.filter((f) => f.state.kind !== 'IN_SYNC');
    // In-sync followers are never trimmed past; lagging ones only up to the retention bound.
    const [beyond] = await leader.query('SELECT position::text FROM syncrep_log ORDER BY syncrep_log.position DESC OFFSET $1 LIMIT 1', [this.retention]);
    const bound = beyond ? BigInt(beyond.position) : 0n;
    const laggingFloor = lagging.length === 0 ? this.settled : max(min(lagging.map((f) => f.watermark)), bound);
    const upto = min([this.settled, laggingFloor, ...inSync.map((f) => f.watermark)]);
    if (upto <= 0n) return;
    const deleted = await leader.query('DELETE FROM syncrep_log WHERE position <= $1', [upto.toString()]);
    await leader.query('UPDATE syncrep_trim SET upto = $1 WHERE upto < $1', [upto.toString()]);
    for (const follower of this.followers) {
      if (follower.watermark < upto && (follower.state.kind === 'OUT_OF_SYNC' || follower.state.kind === 'CATCHING_UP')) {
        setState(follower, { kind: 'NEEDS_RESYNC', reason: `the log no longer holds what it lacks (trimmed up to ${upto})` }, this.log);
      }
    }
    const count = Array.isArray(deleted) ? (deleted[1] as number) : 0;
    if (count > 0) this.log.debug({ upto: upto.toString(), deleted: count }, 'log trimmed');
  }
}

function min(values: bigint[]): bigint {
  return values.reduce((a, b) => (b < a ? b : a));
}

function max(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}
