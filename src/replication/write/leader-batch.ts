import { GraphQLError } from 'graphql';
import type { PoolClient } from 'pg';
import type { Logger } from '../../logger';
import type { Change, RowImage } from '../change';
import { toChange } from './mutation';
import { mutationFailure } from './mutation-failure';
import { isServerError, multi, row } from '../sql/sql';
import { NEXT_POSITION, nextPosition as takeNextPosition } from '../sql/statements';
import { SqlState } from '../../errors/sqlstate';
import type { PendingWrite } from './write-outcome';

/** A mutation that ran on the leader: its result, and the row images followers will apply. */
export interface Applied {
  write: PendingWrite;
  value: unknown;
  change: Change;
}

/** A mutation the leader refused (NOT_FOUND, ALREADY_EXISTS, ...), with the error to give it. */
export interface Refused {
  write: PendingWrite;
  error: GraphQLError;
}

/** What step 1 made of a batch. A deadlock victim put back in the queue is in neither list. */
export interface LeaderBatch {
  applied: Applied[];
  /**
   * Not settled here: a refusal was judged on this transaction's state, so it is reported once
   * that transaction has committed, and a commit that fails reports its own failure instead.
   */
  refused: Refused[];
  position: bigint;
}

/**
 * Step 1 of the write path: BEGIN, each mutation of the batch, and the next replication position,
 * optimistically all in one round trip and without savepoints (a savepoint made each mutation
 * cost about 1.5 times as much on the leader). A mutation that matched nothing and is refused has
 * nothing to undo. When one fails in the database, or changed rows and is then refused, the whole
 * transaction is rolled back and the batch runs again, one mutation per round trip, each under a
 * savepoint of its own (see `startOver`).
 */
export async function runOnLeader(client: PoolClient, batch: PendingWrite[], log: Logger): Promise<LeaderBatch> {
  let results;
  try {
    results = await multi(client, `BEGIN; ${batch.map((write) => write.mutation.sql).join('; ')}; ${NEXT_POSITION}`);
  } catch (error) {
    if (!isServerError(error)) throw error;
    // Which statement failed is not reported.
    return startOver(client, batch, log);
  }
  const applied: Applied[] = [];
  const refused: Refused[] = [];
  for (let i = 0; i < batch.length; i++) {
    const { mutation } = batch[i];
    const { rows, change } = toChange(mutation, results[1 + i].rows as RowImage[]);
    try {
      applied.push({ write: batch[i], value: mutation.interpret(rows), change });
    } catch (error) {
      if (!(error instanceof GraphQLError)) throw error;
      // One that changed rows can only be undone with the whole transaction.
      if (rows.length > 0) return startOver(client, batch, log);
      refused.push({ write: batch[i], error });
    }
  }
  return { applied, refused, position: BigInt((results[results.length - 1].rows as { position: string }[])[0].position) };
}

/** One pass of `startOver`: done, or stopped by a mutation that left the transaction unusable. */
type Pass = { kind: 'done'; applied: Applied[]; refused: Refused[] } | { kind: 'unusable'; culprit: Refused; requeued: PendingWrite[] };

/**
 * Runs the batch again in a fresh transaction, each mutation under a savepoint of its own name
 * (`m1`, `m2`, ...), so rolling back to it can only ever undo that one mutation: with one shared
 * name, a mutation whose savepoint was never made (the server rejects a whole message holding a
 * NUL byte, SAVEPOINT included) rolled back to its predecessor's, undoing a mutation that was
 * still shipped to the followers. When a failed mutation's own savepoint cannot be rolled back to,
 * the transaction is unusable: that mutation is refused and the rest run again without it, so
 * each pass either finishes or removes one mutation.
 */
async function startOver(client: PoolClient, batch: PendingWrite[], log: Logger): Promise<LeaderBatch> {
  const refusedEarlier: Refused[] = [];
  let remaining = batch;
  for (;;) {
    await multi(client, 'ROLLBACK; BEGIN');
    const pass = await eachUnderSavepoint(client, remaining, log);
    if (pass.kind === 'done') {
      return { applied: pass.applied, refused: [...refusedEarlier, ...pass.refused], position: await nextPosition(client) };
    }
    refusedEarlier.push(pass.culprit);
    const gone = new Set([pass.culprit.write, ...pass.requeued]);
    remaining = remaining.filter((write) => !gone.has(write));
  }
}

async function eachUnderSavepoint(client: PoolClient, batch: PendingWrite[], log: Logger): Promise<Pass> {
  const applied: Applied[] = [];
  const refused: Refused[] = [];
  const requeued: PendingWrite[] = [];
  for (const [i, write] of batch.entries()) {
    const { mutation } = write;
    const savepoint = `m${i + 1}`;
    try {
      const results = await multi(client, `SAVEPOINT ${savepoint}; ${mutation.sql}`);
      const { rows, change } = toChange(mutation, results[results.length - 1].rows as RowImage[]);
      applied.push({ write, value: mutation.interpret(rows), change });
    } catch (error) {
      const expected = error instanceof GraphQLError ? error : mutationFailure(mutation, error, log);
      // Anything but the server's own refusal (a lost connection, a driver fault) fails the batch.
      if (!expected) throw error;
      try {
        await client.query(`ROLLBACK TO SAVEPOINT ${savepoint}`);
      } catch (rollbackError) {
        if (!isServerError(rollbackError)) throw rollbackError;
        return { kind: 'unusable', culprit: { write, error: expected }, requeued };
      }
      // A deadlock victim lost only its own statement; its locks elsewhere are still ours, so it
      // cannot succeed in this transaction, but it will in a later one.
      if (isServerError(error) && error.code === SqlState.DeadlockDetected && write.retry()) {
        requeued.push(write);
        continue;
      }
      refused.push({ write, error: expected });
    }
  }
  return { kind: 'done', applied, refused };
}

async function nextPosition(client: PoolClient): Promise<bigint> {
  return BigInt((await row(client, takeNextPosition())).position);
}
