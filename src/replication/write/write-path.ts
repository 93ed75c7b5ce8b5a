import type { PoolClient } from 'pg';
import { transition } from '../nodes/transitions';
import { mergeChanges } from './change-set';
import { FollowerOps } from './follower-ops';
import { CommitSteps, type CommitPlan, type Decision } from './commit-steps';
import { runOnLeader } from './leader-batch';
import { UnreachableCaseError } from '../../errors/unreachable';
import { describeFailure, isServerError, withRollback } from '../sql/sql';
import { epochOf } from '../failover/epoch';
import { commitRefused, leaderNotActive, leaderUnavailable, notEnoughFollowers, outcomeUnknown, rejectAll } from './batch-errors';
import { releaseWhenGone } from './undecided';
import { owned, type PendingWrite } from './write-outcome';
import type { WritePathDeps } from './write-path-deps';

export type { WritePathDeps } from './write-path-deps';

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
  private readonly steps: CommitSteps;

  constructor(private readonly deps: WritePathDeps) {
    this.steps = new CommitSteps(deps, new FollowerOps(deps.log));
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
      await withRollback(leader.pool, (client) => this.run(client, batch));
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
    const commit: CommitPlan = {
      position,
      gid: gids.next(position),
      changes,
      json: JSON.stringify(changes),
      fence: { epoch: this.deps.cluster.epoch, leader: leader.name },
      targets: policy.targets(followers),
      applied,
      refused,
    };
    const { gid } = commit;
    inFlight.add(gid);
    let decision: Decision;
    try {
      decision = await this.steps.prepareAndDecide(client, commit);
    } catch (error) {
      inFlight.delete(gid);
      throw error;
    }
    switch (decision.kind) {
      case 'rolled-back':
        inFlight.delete(gid);
        return;
      case 'unknown':
        // Only syncrep_log knows: the in-doubt resolver settles the followers from it once the
        // leader session that got the COMMIT is gone (until then it may still commit).
        rejectAll(
          applied.map((a) => a.write),
          outcomeUnknown(decision.error),
        );
        if (decision.session === null) inFlight.delete(gid);
        else void releaseWhenGone(leader, inFlight, gid, decision.session);
        throw decision.error;
      case 'committed':
        try {
          await this.steps.finish(commit, decision.prepared, decision.required);
        } catch (error) {
          rejectAll(
            applied.map((a) => a.write),
            outcomeUnknown(error),
          );
          throw error;
        } finally {
          inFlight.delete(gid);
        }
        return;
      default:
        throw new UnreachableCaseError(decision, 'commit decision');
    }
  }
}
