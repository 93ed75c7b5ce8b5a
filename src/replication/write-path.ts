import { GraphQLError } from 'graphql';
import type { PoolClient } from 'pg';
import type { FaultPoint } from '../config/settings';
import { ErrorCode, userError } from '../errors/error-code';
import type { Logger } from '../logger';
import { setState, type FollowerNode, type LeaderNode } from './cluster-node';
import type { GidSource } from './gid';
import type { MembershipGate } from './membership-gate';
import type { Change } from './mutation';
import { describeFailure, isServerError, literal, multi, withClient } from './sql';
import type { SyncPolicy } from './sync-policy';
import { formatPosition, type PendingWrite } from './write-outcome';

const DEADLOCK_DETECTED = '40P01';
/** "prepared transaction with identifier ... does not exist" */
const UNDEFINED_OBJECT = '42704';

interface Prepared {
  node: FollowerNode;
  failure?: string;
}

/** Everything the write path needs, given once. */
export interface WritePathDeps {
  leader: LeaderNode;
  followers: readonly FollowerNode[];
  policy: SyncPolicy;
  gids: GidSource;
  log: Logger;
  faultPoint?: FaultPoint;
  /** Gids between PREPARE and their outcome; the in-doubt resolver leaves these alone. */
  inFlight: Set<string>;
  gate: MembershipGate;
}

/**
 * One distributed commit of a batch of mutations, by two-phase commit with the leader deciding:
 * 1. leader: BEGIN; each mutation under its own savepoint; append the row images to syncrep_log;
 * 2. followers, in parallel: BEGIN; syncrep_apply(row images); PREPARE TRANSACTION gid;
 * 3. leader: COMMIT (the decision: the gid in syncrep_log now means "commit");
 * 4. followers, in parallel: COMMIT PREPARED gid.
 * The leader keeps its row locks until step 3, so its lock order is the order on every node.
 * Every pending write is settled before `commit` returns; it never throws.
 */
export class WritePath {
  constructor(private readonly deps: WritePathDeps) {}

  async commit(batch: PendingWrite[]): Promise<void> {
    await this.deps.gate.enter();
    try {
      await this.commitInGate(batch);
    } finally {
      this.deps.gate.leave();
    }
  }

  private async commitInGate(batch: PendingWrite[]): Promise<void> {
    const { leader, log } = this.deps;
    // Fail fast while the monitor sees the leader down, rather than each write waiting out a timeout.
    if (leader.state.kind === 'DOWN') return rejectAll(batch, leaderUnavailable(leader.state.reason));
    let client: PoolClient;
    try {
      client = await leader.pool.connect();
    } catch (error) {
      this.leaderFailed(error);
      return rejectAll(batch, leaderUnavailable(error));
    }
    let broken: Error | undefined;
    const onError = (error: Error) => (broken = error);
    client.on('error', onError);
    try {
      await this.run(client, batch);
    } catch (error) {
      if (!isServerError(error)) broken = error instanceof Error ? error : new Error(String(error));
      log.error({ err: error }, 'distributed commit failed');
      if (!broken) await client.query('ROLLBACK').catch(() => undefined);
      rejectAll(batch, broken ? leaderUnavailable(error) : userError(ErrorCode.InternalServerError, 'the write failed'));
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  private async run(client: PoolClient, batch: PendingWrite[]): Promise<void> {
    const { leader, followers, policy, gids, inFlight } = this.deps;
    await client.query('BEGIN');
    const applied: { write: PendingWrite; value: unknown; change: Change }[] = [];
    for (const write of batch) {
      const { mutation } = write;
      try {
        const results = await multi(client, `SAVEPOINT m; ${mutation.sql}`);
        const rows = results[results.length - 1].rows;
        const value = mutation.interpret(rows);
        applied.push({ write, value, change: { ...mutation.table, op: mutation.op, rows } });
      } catch (error) {
        const expected = error instanceof GraphQLError ? error : isServerError(error) ? mutation.explain?.(error) : undefined;
        if (!expected && !isServerError(error)) throw error;
        await client.query('ROLLBACK TO SAVEPOINT m');
        // A deadlock victim lost only its own statement; its locks elsewhere are still ours, so it
        // cannot succeed in this transaction, but it will in a later one.
        if (isServerError(error) && error.code === DEADLOCK_DETECTED && write.retry()) continue;
        write.reject(expected ?? userError(ErrorCode.InternalServerError, 'the write failed'));
        if (!expected) this.deps.log.error({ err: error }, 'mutation failed on the leader');
      }
    }
    if (applied.length === 0) {
      await client.query('ROLLBACK');
      return;
    }
    const changes = JSON.stringify(applied.map((a) => a.change));
    const gid = gids.next();
    const logged = await client.query('INSERT INTO syncrep_log (gid, changes) VALUES ($1, $2) RETURNING position', [gid, changes]);
    const position = BigInt(logged.rows[0].position);
    const targets = policy.targets(followers);
    inFlight.add(gid);
    let commitSent = false;
    let keepUntilGone: number | undefined;
    try {
      const outcomes = await Promise.all(targets.map((node) => this.prepare(node, gid, position, changes)));
      const prepared = outcomes.filter((o) => !o.failure).map((o) => o.node);
      const failed = outcomes.filter((o) => o.failure);
      if (prepared.length < policy.required(targets.length)) {
        await client.query('ROLLBACK');
        await Promise.all(outcomes.map((o) => this.rollbackPrepared(o.node, gid)));
        const reason = describeShortfall(failed, prepared.length, policy.required(targets.length));
        const error = userError(ErrorCode.ReplicationFailed, `the write was rolled back on every node: ${reason}`, {
          nodes: failed.map((f) => f.node.name),
        });
        return rejectAll(applied.map((a) => a.write), error);
      }
      for (const { node, failure } of failed) {
        setState(node, { kind: 'OUT_OF_SYNC', reason: `missed position ${position}: ${failure}` }, this.deps.log);
        void this.rollbackPrepared(node, gid);
      }
      this.faultPoint('after-prepare');
      commitSent = true;
      await client.query('COMMIT');
      this.faultPoint('after-commit');
      const committed = await Promise.all(prepared.map((node) => this.commitPrepared(node, gid, position)));
      const committedOn = [leader.name, ...prepared.filter((_, i) => committed[i]).map((n) => n.name)];
      for (const { write, value } of applied) write.resolve({ value, position: formatPosition(position), committedOn });
    } catch (error) {
      // Before COMMIT was sent, nothing is decided: undo every PREPARE now. After it, only syncrep_log
      // knows the outcome, and the in-doubt resolver settles the followers from it, but only once
      // the leader session that got the COMMIT is gone (until then it may still commit).
      if (!commitSent) await Promise.all(targets.map((node) => this.rollbackPrepared(node, gid)));
      else if (!isServerError(error)) keepUntilGone = (client as unknown as { processID: number }).processID;
      throw error;
    } finally {
      if (keepUntilGone === undefined) inFlight.delete(gid);
      else void this.releaseWhenGone(gid, keepUntilGone);
    }
  }

  private async prepare(node: FollowerNode, gid: string, position: bigint, changes: string): Promise<Prepared> {
    try {
      await withClient(node.pool, async (client) => {
        try {
          await client.query(
            `BEGIN; SELECT syncrep_apply(${position}, ${literal(changes)}::jsonb); PREPARE TRANSACTION ${literal(gid)}`,
          );
        } catch (error) {
          if (isServerError(error)) await client.query('ROLLBACK');
          throw error;
        }
      });
      node.lastContact = new Date();
      return { node };
    } catch (error) {
      const failure = describeFailure(error);
      if (!isServerError(error) && node.state.kind === 'IN_SYNC') {
        setState(node, { kind: 'DOWN', reason: failure }, this.deps.log);
      }
      node.lastError = failure;
      return { node, failure };
    }
  }

  /** Undoes a PREPARE that may or may not have happened; what cannot be reached is left to the in-doubt resolver. */
  private async rollbackPrepared(node: FollowerNode, gid: string): Promise<void> {
    await withClient(node.pool, (client) => client.query(`ROLLBACK PREPARED ${literal(gid)}`)).catch((error) => {
      if (!(isServerError(error) && error.code === UNDEFINED_OBJECT)) {
        this.deps.log.warn({ node: node.name, gid, failure: describeFailure(error) }, 'ROLLBACK PREPARED failed; left to recovery');
      }
    });
  }

  /** Step 4. A follower that misses it still holds the write prepared; it stops serving reads until resolved. */
  private async commitPrepared(node: FollowerNode, gid: string, position: bigint): Promise<boolean> {
    try {
      await withClient(node.pool, async (client) => {
        try {
          await client.query(`COMMIT PREPARED ${literal(gid)}`);
        } catch (error) {
          // Gone already: another server's in-doubt resolver may have committed it from the log.
          if (!(isServerError(error) && error.code === UNDEFINED_OBJECT)) throw error;
          const applied = await client.query('SELECT 1 FROM syncrep_applied WHERE position = $1', [position.toString()]);
          if (applied.rowCount === 0) throw error;
        }
      });
      if (position > node.appliedPosition) node.appliedPosition = position;
      return true;
    } catch (error) {
      setState(node, { kind: 'OUT_OF_SYNC', reason: `COMMIT PREPARED of position ${position} failed: ${describeFailure(error)}` }, this.deps.log);
      return false;
    }
  }

  /** Keeps an undecided gid away from the resolver until the leader session that had its COMMIT has ended. */
  private async releaseWhenGone(gid: string, backendPid: number): Promise<void> {
    // Bounded: a leader that stays away this long has long since ended that session.
    for (let attempt = 0; attempt < 1200; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const alive = await withClient(this.deps.leader.pool, (c) => c.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [backendPid])).catch(
        () => undefined,
      );
      if (alive && alive.rowCount === 0) break;
    }
    this.deps.inFlight.delete(gid);
  }

  private leaderFailed(error: unknown): void {
    const { leader, log } = this.deps;
    if (!isServerError(error)) setState(leader, { kind: 'DOWN', reason: describeFailure(error) }, log);
  }

  /** Test-only: dies on the spot, as a crash would, at the named step. */
  private faultPoint(point: FaultPoint): void {
    if (this.deps.faultPoint === point) process.kill(process.pid, 'SIGKILL');
  }
}

function rejectAll(writes: PendingWrite[], error: GraphQLError): void {
  for (const write of writes) write.reject(error);
}

function leaderUnavailable(cause: unknown): GraphQLError {
  const reason = typeof cause === 'string' ? cause : describeFailure(cause);
  return userError(ErrorCode.LeaderUnavailable, `the leader could not take the write (${reason}); nothing was written`);
}

function describeShortfall(failed: Prepared[], prepared: number, required: number): string {
  const causes = failed.map((f) => `${f.node.name}: ${f.failure}`).join('; ');
  return failed.length > 0 ? causes : `only ${prepared} follower(s) in sync, ${required} required`;
}
