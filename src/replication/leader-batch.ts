import { GraphQLError } from 'graphql';
import type { PoolClient } from 'pg';
import { ErrorCode, userError } from '../errors/error-code';
import type { Logger } from '../logger';
import { toChange, type Change } from './mutation';
import { isServerError, multi } from './sql';
import type { PendingWrite } from './write-outcome';

const DEADLOCK_DETECTED = '40P01';

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
 * transaction is rolled back and the batch runs again, every mutation in it, one per round trip
 * under its own savepoint, so a failed mutation undoes only itself.
 */
export async function runOnLeader(client: PoolClient, batch: PendingWrite[], log: Logger): Promise<LeaderBatch> {
  let results;
  try {
    results = await multi(client, `BEGIN; ${batch.map((write) => write.mutation.sql).join('; ')}; SELECT nextval('syncrep_position')::text AS position`);
  } catch (error) {
    if (!isServerError(error)) throw error;
    // Which statement failed is not reported.
    return startOver(client, batch, log);
  }
  const applied: Applied[] = [];
  const refused: Refused[] = [];
  for (let i = 0; i < batch.length; i++) {
    const { mutation } = batch[i];
    const { rows, change } = toChange(mutation, results[1 + i].rows);
    try {
      applied.push({ write: batch[i], value: mutation.interpret(rows), change });
    } catch (error) {
      if (!(error instanceof GraphQLError)) throw error;
      // One that changed rows can only be undone with the whole transaction.
      if (rows.length > 0) return startOver(client, batch, log);
      refused.push({ write: batch[i], error });
    }
  }
  return { applied, refused, position: BigInt(results[results.length - 1].rows[0].position) };
}

async function startOver(client: PoolClient, batch: PendingWrite[], log: Logger): Promise<LeaderBatch> {
  await multi(client, 'ROLLBACK; BEGIN');
  const applied: Applied[] = [];
  const refused: Refused[] = [];
  for (const write of batch) {
    const { mutation } = write;
    try {
      const results = await multi(client, `SAVEPOINT m; ${mutation.sql}`);
      const { rows, change } = toChange(mutation, results[results.length - 1].rows);
      applied.push({ write, value: mutation.interpret(rows), change });
    } catch (error) {
      const expected = error instanceof GraphQLError ? error : isServerError(error) ? mutation.explain?.(error) : undefined;
      if (!expected && !isServerError(error)) throw error;
      await client.query('ROLLBACK TO SAVEPOINT m');
      // A deadlock victim lost only its own statement; its locks elsewhere are still ours, so it
      // cannot succeed in this transaction, but it will in a later one.
      if (isServerError(error) && error.code === DEADLOCK_DETECTED && write.retry()) continue;
      refused.push({ write, error: expected ?? userError(ErrorCode.InternalServerError, 'the write failed') });
      if (!expected) log.error({ err: error }, 'mutation failed on the leader');
    }
  }
  return { applied, refused, position: await nextPosition(client) };
}

async function nextPosition(client: PoolClient): Promise<bigint> {
  const result = await client.query("SELECT nextval('syncrep_position')::text AS position");
  return BigInt(result.rows[0].position);
}
