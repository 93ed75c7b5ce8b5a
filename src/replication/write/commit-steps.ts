import type { PoolClient } from 'pg';
import type { FollowerNode } from '../nodes/cluster-node';
import { transition } from '../nodes/transitions';
import { applySql } from '../sql/apply-sql';
import { isServerError } from '../sql/sql';
import { SqlState } from '../../errors/sqlstate';
import { reconcileLeftOut } from '../recovery/write-set';
import { markBehind } from '../recovery/follower-marks';
import type { mergeChanges } from './change-set';
import { classifyRefusals } from './divergence';
import type { FollowerOps, Prepared } from './follower-ops';
import type { Applied, Refused } from './leader-batch';
import { commitOnLeader } from './leader-commit';
import { outcomeUnknown, rejectAll, replicationFailed } from './batch-errors';
import type { SyncPolicy } from './sync-policy';
import type { WritePathDeps } from './write-path-deps';
import { formatPosition } from './write-outcome';

/** One batch's distributed commit, once the leader ran its mutations. */
export interface CommitPlan {
  position: bigint;
  gid: string;
  changes: ReturnType<typeof mergeChanges>;
  json: string;
  fence: { epoch: bigint; leader: string };
  targets: FollowerNode[];
  applied: Applied[];
  refused: Refused[];
}

/** What steps 2 and 3 came to. */
export type Decision =
  /** Too few followers prepared: rolled back everywhere, every mutation of the batch told. */
  | { kind: 'rolled-back' }
  /** The leader committed: step 4 follows on `prepared`, `required` of them needed. */
  | { kind: 'committed'; prepared: FollowerNode[]; required: number }
  /** The connection failed after COMMIT was sent; `session` is the leader backend that got it. */
  | { kind: 'unknown'; error: unknown; session: number | null };

/**
 * Steps 2 to 4 of one distributed commit (write-path.ts has the order and why): the followers
 * prepare, the leader decides, the followers commit. Each returns what it came to, so the write
 * path's one switch says what every outcome means for the batch.
 */
export class CommitSteps {
  constructor(
    private readonly deps: WritePathDeps,
    private readonly followerOps: FollowerOps,
  ) {}

  /**
   * Steps 2 and 3: the followers prepare, and the leader decides. Anything that fails before the
   * COMMIT is sent, or the leader's refusal of it, undoes every PREPARE here and is thrown;
   * a connection lost after the COMMIT was sent is the `unknown` decision.
   */
  async prepareAndDecide(client: PoolClient, commit: CommitPlan): Promise<Decision> {
    const { policy, log } = this.deps;
    const { followers } = this.deps.cluster;
    const { position, gid, changes, json, fence, targets, applied, refused } = commit;
    const required = policy.required(targets.length, followers.length);
    try {
      let outcomes: Prepared[] = [];
      if (targets.length > 0) {
        const apply = applySql([{ position, gid, changes, json }], fence, 'live', this.deps.cluster.statements);
        outcomes = await this.deps.metrics.timed('prepare', () =>
          Promise.all(targets.map((node) => this.followerOps.prepare(node, gid, apply))),
        );
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
        this.deps.metrics.outcome('rolled_back');
        // A refused mutation was judged on the state just rolled back: it gets this failure too.
        rejectAll([...applied.map((a) => a.write), ...refused.map((r) => r.write)], replicationFailed(failed, prepared.length, required));
        return { kind: 'rolled-back' };
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
      const decided = await this.decide(client, changes, json, { position, gid, fence, leftOut });
      return decided ?? { kind: 'committed', prepared, required };
    } catch (error) {
      // A follower left out here was put back in the write set by its repairer: find out which.
      if (isServerError(error) && error.code === SqlState.NotLeftOut) void reconcileLeftOut(this.deps, this.leftOutNodes(policy));
      await Promise.all(targets.map((node) => this.followerOps.rollbackPrepared(node, gid)));
      throw error;
    }
  }

  /** Step 3's COMMIT on the leader: undefined once it committed, `unknown` when the connection failed after it was sent. */
  private async decide(
    client: PoolClient,
    changes: CommitPlan['changes'],
    json: string,
    record: Parameters<typeof commitOnLeader>[3],
  ): Promise<Extract<Decision, { kind: 'unknown' }> | undefined> {
    let sent = false;
    try {
      await this.deps.metrics.timed('commit', () =>
        commitOnLeader(client, changes, json, record, this.deps.cluster.statements, () => (sent = true)),
      );
      return undefined;
    } catch (error) {
      if (sent && !isServerError(error)) return { kind: 'unknown', error, session: client.processID };
      throw error;
    }
  }

  /** Step 4, once the leader committed: the refused mutations settle, followers commit, the applied ones are acknowledged. */
  async finish(commit: CommitPlan, prepared: FollowerNode[], required: number): Promise<void> {
    const { metrics } = this.deps;
    const { leader } = this.deps.cluster;
    const { position, gid, applied, refused } = commit;
    this.deps.faults.at('after-commit');
    for (const { write, error } of refused) write.reject(error);
    // Timed only when there is a step 4 (a leader alone has none), as the bench reports it per step.
    const committed = prepared.length > 0 ? await metrics.timed('commit_prepared', () => this.commitPrepared(prepared, gid, position)) : [];
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
