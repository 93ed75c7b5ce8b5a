import type { GraphQLError } from 'graphql';
import type { PoolClient } from 'pg';
import type { Change, RowImage } from '../change';
import { LeaderTx, toChange } from './leader-tx';
import { NotSent, refusal, type Applied, type LeaderBatch, type LeaderContext, type Refused } from './leader-outcome';
import { mutationFailure } from './mutation-failure';
import { isServerError, multi, row } from '../sql/sql';
import { nextPosition as takeNextPosition } from '../sql/log-statements';
import { SqlState } from '../../errors/sqlstate';
import type { PendingWrite } from './write-outcome';

/** One pass of `startOver`: done, or stopped by a write that left the transaction unusable. */
type Pass =
  | { kind: 'done'; applied: Applied[]; refused: Refused[]; changes: Change[] }
  | { kind: 'unusable'; culprit: Refused; requeued: PendingWrite[] };

/**
 * Runs the batch again in a fresh transaction, each write under a savepoint of its own name
 * (`m1`, `m2`, ...), so rolling back to it can only ever undo that one write: with one shared
 * name, a write whose savepoint was never made (the server rejects a whole message holding a
 * NUL byte, SAVEPOINT included) rolled back to its predecessor's, undoing a write that was
 * still shipped to the followers. When a failed write's own savepoint cannot be rolled back to,
 * the transaction is unusable: that write is refused and the rest run again without it, so
 * each pass either finishes or removes one write.
 */
export async function startOver(client: PoolClient, batch: PendingWrite[], context: LeaderContext): Promise<LeaderBatch> {
  const refusedEarlier: Refused[] = [];
  let remaining = batch;
  for (;;) {
    await multi(client, 'ROLLBACK; BEGIN');
    const pass = await eachUnderSavepoint(client, remaining, context);
    if (pass.kind === 'done') {
      const position = BigInt((await row(client, takeNextPosition())).position);
      return { applied: pass.applied, refused: [...refusedEarlier, ...pass.refused], changes: pass.changes, position };
    }
    refusedEarlier.push(pass.culprit);
    const gone = new Set([pass.culprit.write, ...pass.requeued]);
    remaining = remaining.filter((write) => !gone.has(write));
  }
}

async function eachUnderSavepoint(client: PoolClient, batch: PendingWrite[], context: LeaderContext): Promise<Pass> {
  const applied: Applied[] = [];
  const refused: Refused[] = [];
  const requeued: PendingWrite[] = [];
  const changes: Change[] = [];
  for (const [i, write] of batch.entries()) {
    const savepoint = `m${i + 1}`;
    const alone = await runAlone(client, write, savepoint, context);
    if (alone.kind === 'applied') {
      applied.push({ write, value: alone.value });
      changes.push(...alone.changes);
      continue;
    }
    const { failure, error, sent } = alone;
    if (sent) {
      try {
        await client.query(`ROLLBACK TO SAVEPOINT ${savepoint}`);
      } catch (rollbackError) {
        if (!isServerError(rollbackError)) throw rollbackError;
        return { kind: 'unusable', culprit: { write, error }, requeued };
      }
    }
    // A deadlock victim lost only its own statement; its locks elsewhere are still ours, so it
    // cannot succeed in this transaction, but it will in a later one.
    if (isServerError(failure) && failure.code === SqlState.DeadlockDetected && write.retry()) {
      requeued.push(write);
      continue;
    }
    refused.push({ write, error });
  }
  return { kind: 'done', applied, refused, changes };
}

type Alone =
  | { kind: 'applied'; value: unknown; changes: Change[] }
  /** `failure`: the database's, when a statement failed; `sent`: whether the savepoint may exist. */
  | { kind: 'refused'; error: GraphQLError; failure?: unknown; sent: boolean };

/**
 * One write on its own: its statements one message each, the first carrying its SAVEPOINT. The
 * first statement that fails ends the write (the rest are not sent), whatever `run` then does;
 * so does `run` settling: a statement it issued but had not awaited when it threw is not sent.
 * Each statement after the first waits for `run` to take in the results before it (its
 * microtasks run before setImmediate), so the write decides as it would in one round.
 */
async function runAlone(
  client: PoolClient,
  write: PendingWrite,
  savepoint: string,
  { dataSource, returnsOld, log }: LeaderContext,
): Promise<Alone> {
  const changes: Change[] = [];
  let sent = false;
  let failure: { error: unknown } | undefined;
  let settled = false;
  let chain: Promise<unknown> = Promise.resolve();
  const tx = new LeaderTx(dataSource, returnsOld, (statement) => {
    const next = chain.then(async () => {
      if (sent) await new Promise((resolve) => setImmediate(resolve));
      if (failure || settled) throw new NotSent();
      const sql = sent ? statement.sql : `SAVEPOINT ${savepoint}; ${statement.sql}`;
      sent = true;
      try {
        const results = await multi(client, sql);
        const { rows, change } = toChange(statement, results[results.length - 1].rows as RowImage[]);
        if (change) changes.push(change);
        return rows;
      } catch (error) {
        failure = { error };
        throw error;
      }
    });
    chain = next.catch(() => undefined);
    return next;
  });
  let outcome: { ok: true; value: unknown } | { ok: false; error: unknown };
  try {
    outcome = { ok: true, value: await Promise.resolve().then(() => write.mutation.run(tx)) };
  } catch (error) {
    outcome = { ok: false, error };
  }
  settled = true;
  await chain;
  tx.close();
  if (failure) {
    const expected = mutationFailure(write.mutation, failure.error, dataSource, log);
    // Anything but the server's own refusal (a lost connection, a driver fault) fails the batch.
    if (!expected) throw failure.error;
    return { kind: 'refused', error: expected, failure: failure.error, sent };
  }
  if (outcome.ok) return { kind: 'applied', value: outcome.value, changes };
  return { kind: 'refused', error: refusal(write, outcome.error, log), sent };
}
