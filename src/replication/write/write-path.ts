import type { PoolClient } from 'pg';
import type { FaultHooks } from '../../lifecycle/fault-hooks';
import type { Logger } from '../../logger';
import type { WriteMetrics } from './write-metrics';
import type { FollowerNode } from '../nodes/cluster-node';
import type { Cluster } from '../nodes/cluster';
import { transition } from '../nodes/transitions';
import type { GidSource } from './gid';
import type { MembershipGate } from './membership-gate';
import type { NodeLocks } from '../nodes/node-lock';
import { applySql } from '../sql/apply-sql';
import { mergeChanges } from './change-set';
import { classifyRefusals } from './divergence';
import { markBehind } from '../recovery/follower-marks';
import { FollowerOps, type Prepared } from './follower-ops';
import { runOnLeader } from './leader-batch';
import { commitOnLeader } from './leader-commit';
import { describeFailure, isServerError, rollingBack, withClient } from '../sql/sql';
import { SqlState } from '../../errors/sqlstate';
import { reconcileLeftOut } from '../recovery/write-set';
import { epochOf } from '../failover/epoch';
import {
  commitRefused,
  leaderNotActive,
  leaderUnavailable,
  notEnoughFollowers,
  outcomeUnknown,
  rejectAll,
  replicationFailed,
} from './batch-errors';
import { releaseWhenGone } from './undecided';
import type { SyncPolicy } from './sync-policy';
import { formatPosition, owned, type PendingWrite } from './write-outcome';

/** Everything the write path needs, given once. */
export interface WritePathDeps {
  cluster: Cluster;
  policy: SyncPolicy;
  gids: GidSource;
  log: Logger;
  /** Where the fault tests stop the server (NO_FAULTS in production). */
  faults: FaultHooks;
  /** Gids between PREPARE and their outcome; the in-doubt resolver leaves these alone. */
  inFlight: Set<string>;
  gate: MembershipGate;
  locks: NodeLocks;
  metrics: WriteMetrics;
}

/**
 * One distributed commit of a batch of mutations, by two-phase commit with the leader deciding:
 * 1. leader: BEGIN; each mutation; take the next position (leader-batch.ts);
 * 2. followers, in parallel: BEGIN; apply the row images strictly; PREPARE TRANSACTION gid (follower-ops.ts);
 * 3. leader: confirm its rows are the images shipped; append gid and row images to syncrep_log;
 *    COMMIT (leader-commit.ts; the gid in syncrep_log means "commit");
 * 4. followers, in parallel: COMMIT PREPARED gid (follower-ops.ts).
 * The leader keeps its row locks until step 3, so its lock order is the order on every node.
 * Every pending write is settled before `commit` returns; it never throws.
 */
export class WritePath {
  private readonly followerOps: FollowerOps;

  constructor(private readonly deps: WritePathDeps) {
    this.followerOps = new FollowerOps(deps.log);
  }

  async commit(batch: PendingWrite[]): Promise<void> {
    await this.deps.gate.enter();
    try {
      await this.commitInGate(batch);
    } finally {
      this.deps.gate.leave();
    }
  }

  private async commitInGate(batch: PendingWrite[]): Promise<void> {
    const { log, metrics } = this.deps;
    const { leader } = this.deps.cluster;
    metrics.batch(batch.length);
    // Fail fast while the monitor sees the leader down, rather than each write waiting out a timeout.
    if (leader.state.kind === 'DOWN') {
      metrics.outcome('failed');
      return rejectAll(batch, leaderUnavailable());
    }
    // Likewise while too few followers can prepare (one known DOWN in mode all): nothing is tried.
    const blocked = this.deps.policy.writeBlockers(false, this.deps.cluster.followers);
    if (blocked.reasons.length > 0) {
      metrics.outcome('failed');
      return rejectAll(batch, notEnoughFollowers(blocked.reasons, blocked.nodes));
    }
    try {
      await withClient(leader.pool, (client) => rollingBack(client, () => this.run(client, batch)));
    } catch (error) {
      // Writes already settled keep their outcome; this only reaches the ones still waiting.
      metrics.outcome('failed');
      if (isServerError(error)) {
        log.error({ err: error }, 'distributed commit failed');
        return rejectAll(owned(batch), commitRefused(error));
      }
      transition(leader, { kind: 'unreachable', reason: describeFailure(error) }, log);
      rejectAll(owned(batch), leaderUnavailable(error));
    }
  }

  private async run(client: PoolClient, batch: PendingWrite[]): Promise<void> {
    const { policy, gids, inFlight, log, metrics } = this.deps;
    const { leader, followers } = this.deps.cluster;
    const {
      applied,
      refused,
      changes: made,
      position,
    } = await metrics.timed('leader', () =>
      runOnLeader(client, batch, { dataSource: leader.dataSource, returnsOld: this.deps.cluster.returnsOld, log }),
    );
    const settleRefused = () => {
      for (const { write, error } of refused) write.reject(error);
    };
    if (applied.length === 0) {
      await client.query('ROLLBACK');
      settleRefused();
      metrics.outcome('rolled_back');
      return;
    }
    // A position outside this epoch's range was taken before the promotion set the sequence.
    if (epochOf(position) !== this.deps.cluster.epoch) {
      await client.query('ROLLBACK');
      settleRefused();
      metrics.outcome('rolled_back');
      return rejectAll(
        applied.map((a) => a.write),
        leaderNotActive(this.deps.cluster.epoch, position),
      );
    }
    const changes = mergeChanges(made);
    const json = JSON.stringify(changes);
    const gid = gids.next(position);
    const fence = { epoch: this.deps.cluster.epoch, leader: leader.name };
    const targets = policy.targets(followers);
    const required = policy.required(targets.length, followers.length);
    inFlight.add(gid);
    let commitSent = false;
    let keepUntilGone: number | undefined;
    try {
      let outcomes: Prepared[] = [];
      if (targets.length > 0) {
        const apply = applySql([{ position, gid, changes, json }], fence, { kind: 'live', returnsOld: this.deps.cluster.returnsOld });
        outcomes = await metrics.timed('prepare', () => Promise.all(targets.map((node) => this.followerOps.prepare(node, gid, apply))));
      }
      const prepared = outcomes.filter((o) => !o.failure).map((o) => o.node);
      const failed = outcomes.filter((o) => o.failure);
      // Marked on the node by another server's repair (SR004): left out here too from now on.
      for (const { node, failure, sqlState } of failed)
        if (sqlState === SqlState.MarkedNode) transition(node, { kind: 'marked', reason: `refused a live write: ${failure}` }, log);
      if (prepared.length < required) {
        await client.query('ROLLBACK');
        await Promise.all(outcomes.map((o) => this.followerOps.rollbackPrepared(o.node, gid)));
        await this.classifyFailed(targets.length, failed, position);
        const error = replicationFailed(failed, prepared.length, required);
        metrics.outcome('rolled_back');
        // A refused mutation was judged on the state just rolled back: it gets this failure too.
        return rejectAll([...applied.map((a) => a.write), ...refused.map((r) => r.write)], error);
      }
      const judged = await this.classifyFailed(targets.length, failed, position);
      for (const { node, failure, sqlState } of failed) {
        void this.followerOps.rollbackPrepared(node, gid);
        // Judged already (behind, diverged); otherwise marked before the write commits without it,
        // so every other server stops reading from it by its next round (one that did not answer
        // is DOWN already, and is not waited for here).
        if (judged.has(node)) continue;
        const reason = `missed position ${position}: ${failure}`;
        if (sqlState === undefined) transition(node, { kind: 'missed-write', reason }, log);
        else await markBehind(this.deps, node, reason, 'missed-write');
      }
      const leftOut = policy.leftOut(followers, prepared);
      this.deps.faults.at('after-prepare');
      await metrics.timed('commit', () =>
        commitOnLeader(client, changes, json, { position, gid, fence, leftOut }, () => (commitSent = true)),
      );
      this.deps.faults.at('after-commit');
      settleRefused();
      // Timed only when there is a step 4 (a leader alone has none), as the bench reports it per step.
      const committed =
        prepared.length > 0 ? await metrics.timed('commit_prepared', () => this.commitPrepared(prepared, gid, position)) : [];
      metrics.outcome('committed');
      const committedOn = [leader.name, ...prepared.filter((_, i) => committed[i]).map((n) => n.name)];
      // Acknowledged only once committed on as many followers as had to prepare: then every set of
      // followers a promotion must reach holds it. Committed on fewer, it is decided but a lost
      // leader could take it along: the client is told the outcome is unknown, never success.
      if (committedOn.length - 1 < required) {
        const short = outcomeUnknown(undefined, `committed on ${committedOn.length - 1} of the ${required} follower(s) it needs`);
        return rejectAll(
          applied.map((a) => a.write),
          short,
        );
      }
      for (const { write, value } of applied) write.resolve({ value, position: formatPosition(position), committedOn });
    } catch (error) {
      // Until the COMMIT is sent, or when the leader refused it, nothing is decided: undo every
      // PREPARE now. When the connection failed after it was sent, only syncrep_log knows the
      // outcome; the in-doubt resolver settles the followers from it once the leader session that
      // got the COMMIT is gone (until then it may still commit).
      // A follower left out here was put back in the write set by its repairer: find out which.
      if (isServerError(error) && error.code === SqlState.NotLeftOut) void reconcileLeftOut(this.deps, this.leftOutNodes(policy));
      if (!commitSent || isServerError(error)) await Promise.all(targets.map((node) => this.followerOps.rollbackPrepared(node, gid)));
      else {
        keepUntilGone = client.processID ?? undefined;
        rejectAll(
          applied.map((a) => a.write),
          outcomeUnknown(error),
        );
      }
      throw error;
    } finally {
      if (keepUntilGone === undefined) inFlight.delete(gid);
      else void releaseWhenGone(leader, inFlight, gid, keepUntilGone);
    }
  }

  /**
   * Classifies the followers that refused this write as diverged (SR001): each becomes DIVERGED, or
   * OUT_OF_SYNC when it merely lacks earlier writes; when every follower refused, the leader is
   * suspected and none is touched (divergence.ts). Returns the followers whose state it set.
   */
  private classifyFailed(targets: number, failed: Prepared[], position: bigint): Promise<Set<FollowerNode>> {
    const refusals = failed.map((f) => ({
      node: f.node,
      sqlState: f.sqlState,
      wasInSync: f.stateBefore === 'IN_SYNC',
      failure: f.failure ?? '',
    }));
    return classifyRefusals(this.deps, targets, refusals, position).catch(() => new Set<FollowerNode>());
  }

  /** The followers this server's writes leave out that the leader must record (sync mode all). */
  private leftOutNodes(policy: SyncPolicy): FollowerNode[] {
    const { recorded } = policy.leftOut(this.deps.cluster.followers, []);
    return this.deps.cluster.followers.filter((f) => recorded.includes(f.name));
  }

  /** Step 4 on every prepared follower, in parallel; whether each committed. */
  private async commitPrepared(prepared: FollowerNode[], gid: string, position: bigint): Promise<boolean[]> {
    if (this.deps.faults.armed('after-first-commit-prepared') && prepared.length > 1) {
      await this.followerOps.commitPrepared(prepared[0], gid, position);
      this.deps.faults.at('after-first-commit-prepared');
    }
    return Promise.all(prepared.map((node) => this.followerOps.commitPrepared(node, gid, position)));
  }
}
