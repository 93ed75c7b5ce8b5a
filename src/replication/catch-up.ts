import type { Logger } from '../logger';
import { setState, type FollowerNode, type LeaderNode } from './cluster-node';
import type { Rejoiner } from './health-monitor';
import type { InDoubtResolver } from './in-doubt-resolver';
import { applyOn, applySql } from './apply-sql';
import { missingPositions } from './log-scan';
import type { Change } from './mutation';
import type { MembershipGate } from './membership-gate';
import { resync } from './resync';
import { describeFailure, withClient } from './sql';

/**
 * Brings a follower that missed writes back into the synchronous set.
 * Positions are taken before commit, so writes can commit out of position order: catch-up does
 * not trust "everything up to the highest applied position"; it compares every position in the
 * leader's log above the follower's watermark with the follower's own record of applied
 * positions, and replays each one missing, in position order, in batches. Writes go on meanwhile;
 * the last entries are replayed with the membership gate held, so the follower joins without
 * missing or repeating a write. A follower below the log's trim point is first rebuilt.
 */
export class CatchUp implements Rejoiner {
  constructor(
    private readonly leader: LeaderNode,
    private readonly gate: MembershipGate,
    private readonly inDoubt: InDoubtResolver,
    private readonly batchSize: number,
    private readonly log: Logger,
  ) {}

  async rejoin(follower: FollowerNode): Promise<void> {
    const from = follower.state.kind;
    await this.inDoubt.resolve(follower);
    const [{ upto: watermark }] = await follower.dataSource.query('SELECT upto::text FROM syncrep_watermark');
    const [{ upto: trimmed }] = await this.leader.dataSource.query('SELECT upto::text FROM syncrep_trim');
    follower.watermark = BigInt(watermark);
    try {
      if (follower.watermark < BigInt(trimmed)) {
        setState(follower, { kind: 'NEEDS_RESYNC', reason: `applied up to ${watermark}, but the log starts after ${trimmed}` }, this.log);
        await resync(this.leader, follower, this.log);
      }
      setState(follower, { kind: 'CATCHING_UP' }, this.log);
      const replayed = await this.replay(follower);
      const last = await this.gate.exclusive(async () => {
        const n = await this.replay(follower);
        setState(follower, { kind: 'IN_SYNC' }, this.log);
        return n;
      });
      this.log.info({ node: follower.name, from, replayed: replayed + last }, 'follower rejoined');
    } catch (error) {
      if (follower.state.kind !== 'NEEDS_RESYNC') {
        setState(follower, { kind: 'OUT_OF_SYNC', reason: `catch-up failed: ${describeFailure(error)}` }, this.log);
      }
      throw error;
    }
  }

  /** Replays every committed position the follower lacks; returns how many. */
  async replay(follower: FollowerNode): Promise<number> {
    let replayed = 0;
    for await (const { missing, scannedTo } of missingPositions(this.leader, follower, follower.watermark)) {
      for (let i = 0; i < missing.length; i += this.batchSize) {
        replayed += await this.apply(follower, missing.slice(i, i + this.batchSize));
      }
      if (scannedTo > follower.appliedPosition) follower.appliedPosition = scannedTo;
    }
    return replayed;
  }

  private async apply(follower: FollowerNode, positions: string[]): Promise<number> {
    const entries: { position: string; changes: Change[] }[] = await this.leader.dataSource.query(
      'SELECT position::text, changes FROM syncrep_log WHERE position = ANY($1::bigint[]) ORDER BY syncrep_log.position',
      [positions],
    );
    if (entries.length === 0) return 0;
    // One transaction, one round trip, strictly in position order.
    const apply = applySql(entries);
    await withClient(follower.pool, async (client) => {
      try {
        await applyOn(client, apply, 'COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    });
    return entries.length;
  }
}
