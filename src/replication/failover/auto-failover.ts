import type { Logger } from '../../logger';
import type { Cluster } from '../nodes/cluster';
import type { FollowerNode } from '../nodes/cluster-node';
import { describeFailure } from '../sql/sql';
import type { Promoter } from './promoter';

/**
 * AUTO_FAILOVER: once the leader has been DOWN for `afterMs` without a break, promotes the best
 * safe follower by the same rule as `promote` (never with allowDataLoss): reachable followers not
 * known diverged or being rebuilt, in sync first, then the furthest applied, then configured order.
 * A refused or failed attempt waits `afterMs` again before the next (Patroni's failover backoff).
 * Meant for one server process: several are kept safe by the epoch fence, not coordinated.
 */
export class AutoFailover {
  private downSince: number | undefined;
  private notBefore = 0;
  private attempt: Promise<void> | undefined;

  constructor(
    private readonly cluster: Cluster,
    private readonly promoter: Promoter,
    private readonly afterMs: number,
    private readonly log: Logger,
  ) {}

  /** Called after every health round. */
  consider(now = Date.now()): void {
    if (this.cluster.leader.state.kind !== 'DOWN') {
      this.downSince = undefined;
      return;
    }
    this.downSince ??= now;
    if (this.attempt || now - this.downSince < this.afterMs || now < this.notBefore) return;
    this.attempt = this.failover().finally(() => (this.attempt = undefined));
  }

  /** Waits for an attempt under way. */
  async stop(): Promise<void> {
    await this.attempt;
  }

  private async failover(): Promise<void> {
    const leader = this.cluster.leader.name;
    const refusals: string[] = [];
    for (const candidate of candidates(this.cluster.followers)) {
      try {
        const result = await this.promoter.promote(candidate.name, false, true);
        this.log.warn({ from: leader, to: result.leader, epoch: result.epoch.toString() }, 'automatic failover promoted a follower');
        return;
      } catch (error) {
        refusals.push(`${candidate.name}: ${error instanceof Error ? error.message : describeFailure(error)}`);
      }
    }
    this.notBefore = Date.now() + this.afterMs;
    this.log.error({ leader, refusals }, 'automatic failover found no follower it could safely promote; trying again later');
  }
}

/** Followers worth trying, best first. */
export function candidates(followers: readonly FollowerNode[]): FollowerNode[] {
  const rank = (f: FollowerNode) => (f.state.kind === 'IN_SYNC' ? 0 : 1);
  return followers
    .filter((f) => f.state.kind !== 'DOWN' && f.state.kind !== 'DIVERGED' && f.state.kind !== 'NEEDS_RESYNC')
    .map((f, order) => ({ f, order }))
    .sort(
      (a, b) =>
        rank(a.f) - rank(b.f) ||
        (b.f.appliedPosition > a.f.appliedPosition ? 1 : b.f.appliedPosition < a.f.appliedPosition ? -1 : 0) ||
        a.order - b.order,
    )
    .map(({ f }) => f);
}
