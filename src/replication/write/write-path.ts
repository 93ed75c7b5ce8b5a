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

  /** Commits `batch`; `released` is called once the leader has decided it (see WriteBatcher). */
  async commit(batch: PendingWrite[], released: () => void = () => undefined): Promise<void> {
    await this.deps.gate.enter();
    try {
      await this.commitInGate(batch, released);
    } finally {
      released();
      this.deps.gate.leave();
    }
  }

  private async commitInGate(batch: PendingWrite[], released: () => void): Promise<void> {
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
    let lastStep: (() => Promise<void>) | undefined;
    try {
      lastStep = await withRollback(leader.pool, (client) => this.run(client, batch));
    } catch (error) {
      // Writes already settled keep their outcome; this only reaches the ones still waiting.
      metrics.outcome('failed');
      if (isServerError(error)) {
        log.error({ err: error }, 'distributed commit failed');
        return rejectAll(owned(batch), commitRefused(error));
      }
      transition(leader, { kind: 'unreachable', reason: describeFailure(error) }, log);
      return rejectAll(owned(batch), leaderUnavailable(error));
    }
    // Decided: the leader's connection is back in the pool and the next commit may start while
    // the followers COMMIT PREPARED this one. Its row locks on the leader are gone; on a follower
    // the next commit's apply of the same rows waits for this one's prepared transaction, which
    // commits without waiting for anything, so the order of writes to a row is the leader's.
    released();
    await lastStep?.().catch((error: unknown) => log.error({ err: error }, "the followers' COMMIT PREPARED failed"));
  }

  /** Steps 1-3 on `client`; for a batch the leader committed, returns step 4, to run once `client` is released. */
  private async run(client: PoolClient, batch: PendingWrite[]): Promise<(() => Promise<void>) | undefined> {
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
    // Nothing to commit: the refused mutations get their own errors.
    const rollBack = async () => {
      await client.query('ROLLBACK');
      for (const { write, error } of refused) write.reject(error);
      metrics.outcome('rolled_back');
    };
    if (applied.length === 0) {
      await rollBack();
      return;
    }
    // A position outside this epoch's range was taken before the promotion set the sequence.
    if (epochOf(position) !== this.deps.cluster.epoch) {
      await rollBack();
      rejectAll(
        applied.map((a) => a.write),
        leaderNotActive(this.deps.cluster.epoch, position),
      );
      return;
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
        return async () => {
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
        };
      default:
        throw new UnreachableCaseError(decision, 'commit decision');
    }
  }
}
