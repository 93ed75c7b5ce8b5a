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

/**
 * Step 1 of the write path: BEGIN, then each mutation of the batch under its own savepoint, and
 * the next replication position. Optimistically all in one round trip; when one fails, the batch
 * is rolled back to before it and the rest run one round trip each, so a failed mutation undoes
 * only itself. Mutations that fail are settled here; the applied ones are returned in order.
 */
export async function runOnLeader(client: PoolClient, batch: PendingWrite[], log: Logger): Promise<{ applied: Applied[]; position: bigint }> {
  const statements = batch.map((write, i) => `SAVEPOINT m${i}; ${write.mutation.sql}`).join('; ');
  let results;
  try {
    results = await multi(client, `BEGIN; ${statements}; SELECT nextval('syncrep_position')::text AS position`);
  } catch (error) {
    if (!isServerError(error)) throw error;
    // Which statement failed is not reported: undo them all and go one at a time.
    await client.query('ROLLBACK TO SAVEPOINT m0');
    const applied = await oneAtATime(client, batch, log);
    return { applied, position: await nextPosition(client) };
  }
  const applied: Applied[] = [];
  for (let i = 0; i < batch.length; i++) {
    const { mutation } = batch[i];
    const { rows, change } = toChange(mutation, results[2 + 2 * i].rows);
    try {
      applied.push({ write: batch[i], value: mutation.interpret(rows), change });
    } catch (error) {
      if (!(error instanceof GraphQLError)) throw error;
      // Undoing this one undoes those after it too: settle it and run the rest again one at a time.
      await client.query(`ROLLBACK TO SAVEPOINT m${i}`);
      batch[i].reject(error);
      applied.push(...(await oneAtATime(client, batch.slice(i + 1), log)));
      break;
    }
  }
  return { applied, position: BigInt(results[results.length - 1].rows[0].position) };
}

async function oneAtATime(client: PoolClient, batch: PendingWrite[], log: Logger): Promise<Applied[]> {
  const applied: Applied[] = [];
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
      write.reject(expected ?? userError(ErrorCode.InternalServerError, 'the write failed'));
      if (!expected) log.error({ err: error }, 'mutation failed on the leader');
    }
  }
  return applied;
}

async function nextPosition(client: PoolClient): Promise<bigint> {
  const result = await client.query("SELECT nextval('syncrep_position')::text AS position");
  return BigInt(result.rows[0].position);
}
