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
 * Step 1 of the write path: BEGIN, each mutation of the batch, and the next replication position,
 * optimistically all in one round trip and without savepoints (a savepoint made each mutation
 * cost about twice as much on the leader). When a mutation fails, or changed rows it then turns
 * out not to want, the whole transaction is rolled back and the batch runs again one mutation per
 * round trip, each under its own savepoint, so a failed mutation undoes only itself. Mutations
 * that fail are settled here; the applied ones are returned in order.
 */
export async function runOnLeader(client: PoolClient, batch: PendingWrite[], log: Logger): Promise<{ applied: Applied[]; position: bigint }> {
  let results;
  try {
    results = await multi(client, `BEGIN; ${batch.map((write) => write.mutation.sql).join('; ')}; SELECT nextval('syncrep_position')::text AS position`);
  } catch (error) {
    if (!isServerError(error)) throw error;
    // Which statement failed is not reported.
    return startOver(client, batch, log);
  }
  const applied: Applied[] = [];
  const unsettled = new Set(batch);
  for (let i = 0; i < batch.length; i++) {
    const { mutation } = batch[i];
    const { rows, change } = toChange(mutation, results[1 + i].rows);
    try {
      applied.push({ write: batch[i], value: mutation.interpret(rows), change });
    } catch (error) {
      if (!(error instanceof GraphQLError)) throw error;
      batch[i].reject(error);
      unsettled.delete(batch[i]);
      // A mutation that changed nothing has nothing to undo; one that did can only be undone with the whole transaction.
      if (rows.length > 0) return startOver(client, batch.filter((write) => unsettled.has(write)), log);
    }
  }
  return { applied, position: BigInt(results[results.length - 1].rows[0].position) };
}

async function startOver(client: PoolClient, batch: PendingWrite[], log: Logger): Promise<{ applied: Applied[]; position: bigint }> {
  await multi(client, 'ROLLBACK; BEGIN');
  const applied = await oneAtATime(client, batch, log);
  return { applied, position: await nextPosition(client) };
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
