import { GraphQLError } from 'graphql';
import type { PoolClient } from 'pg';
import type { DataSource } from 'typeorm';
import type { Logger } from '../../logger';
import type { Change, RowImage } from '../change';
import type { EntityStatement } from '../entities/entity-sql';
import { LeaderTx, toChange } from './leader-tx';
import { mutationFailure, unexpectedFailure } from './mutation-failure';
import { isServerError, multi, row } from '../sql/sql';
import { NEXT_POSITION, nextPosition as takeNextPosition } from '../sql/statements';
import { SqlState } from '../../errors/sqlstate';
import type { PendingWrite } from './write-outcome';

/** A write that ran on the leader, and its result. */
export interface Applied {
  write: PendingWrite;
  value: unknown;
}

/** A write the leader refused (NOT_FOUND, ALREADY_EXISTS, ...), with the error to give it. */
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
  /** Every row change of the applied writes, in the order the leader made them: what followers apply. */
  changes: Change[];
  position: bigint;
}

/** What the leader's step needs besides the connection. */
export interface LeaderContext {
  /** The leader's DataSource: entity metadata, and the driver's value conversions. */
  dataSource: DataSource;
  log: Logger;
}

/** One write's attempt in this transaction. */
interface Attempt {
  write: PendingWrite;
  /** Its place in the batch: its statements travel in this order. */
  index: number;
  tx: LeaderTx;
  /** Whether it has asked for a statement yet. */
  asked?: boolean;
  /** Whether any of its statements changed a row: then only undoing the transaction undoes it. */
  changed: boolean;
  settled?: { ok: true; value: unknown } | { ok: false; error: unknown };
}

/** Tells a write that its statement was never run here: its batch is starting over, or the write had ended. */
class NotSent extends Error {
  constructor() {
    super('this statement was not sent: its batch is starting over, or its write had already ended');
  }
}

/**
 * Step 1 of the write path: BEGIN, every write of the batch, and the next replication position.
 * Optimistically in one round trip without savepoints (a savepoint made each write cost about
 * 1.5 times as much on the leader): every write asks for its statements, which travel in one
 * message, each write's together and in batch order, then the position. The writes run one after
 * another in it, as in any serial order; a write refused without changing a row has nothing to
 * undo. The batch starts over, one write at a time, each under a savepoint of its own
 * (`startOver`), when a statement fails in the database, when a write that changed rows is then
 * refused, or when a write asks for a statement after seeing results: interleaved with the others'
 * statements in one transaction, it could decide on rows a neighbour changed after it read them.
 */
export async function runOnLeader(client: PoolClient, batch: PendingWrite[], context: LeaderContext): Promise<LeaderBatch> {
  return (await inOneRound(client, batch, context)) ?? startOver(client, batch, context);
}

interface Queued {
  attempt: Attempt;
  statement: EntityStatement;
  resolve: (rows: RowImage[]) => void;
  reject: (error: Error) => void;
}

/** The optimistic pass; undefined when the batch must start over. */
async function inOneRound(client: PoolClient, batch: PendingWrite[], { dataSource, log }: LeaderContext) {
  const queue: Queued[] = [];
  let wake: (() => void) | undefined;
  const poke = () => {
    wake?.();
    wake = undefined;
  };
  let closed = false;
  const attempts = batch.map((write, index) => {
    const attempt: Attempt = { write, index, changed: false } as Attempt;
    attempt.tx = new LeaderTx(dataSource, (statement) =>
      closed
        ? Promise.reject(new NotSent())
        : new Promise<RowImage[]>((resolve, reject) => {
            attempt.asked = true;
            queue.push({ attempt, statement, resolve, reject });
            poke();
          }),
    );
    return attempt;
  });
  for (const attempt of attempts)
    void Promise.resolve()
      .then(() => attempt.write.mutation.run(attempt.tx))
      .then(
        (value) => (attempt.settled = { ok: true, value }),
        (error: unknown) => (attempt.settled = { ok: false, error }),
      )
      .then(poke);
  const close = () => {
    closed = true;
    for (const attempt of attempts) attempt.tx.close();
    for (const queued of queue.splice(0)) queued.reject(new NotSent());
  };
  await firstRequests(attempts, queue);
  const round = queue.splice(0).sort((a, b) => a.attempt.index - b.attempt.index);
  const changes: Change[] = [];
  let position: string;
  try {
    const results = await multi(client, `BEGIN; ${round.map((q) => `${q.statement.sql}; `).join('')}${NEXT_POSITION}`);
    position = (results[results.length - 1].rows as { position: string }[])[0].position;
    round.forEach((queued, i) => deliver(queued, results[1 + i].rows as RowImage[], changes));
  } catch (error) {
    for (const queued of round) queued.reject(new NotSent());
    close();
    // Which statement failed is not reported.
    if (!isServerError(error)) throw error;
    return undefined;
  }
  // Each write now settles, or asks for more: the sign that it decides on what it read. That is
  // safe here only for the one write still running when every statement after its own is done
  // (no other write's statement ran between its reads and what it sends next): it goes on alone,
  // a round trip per round; anything else starts over.
  for (;;) {
    while (queue.length === 0 && !attempts.every((a) => a.settled)) await new Promise<void>((resolve) => (wake = resolve));
    if (queue.length === 0) break;
    const going = attempts.filter((a) => !a.settled);
    const last = going.length === 1 && !attempts.some((a) => a.asked && a.index > going[0].index);
    if (!last) {
      close();
      return undefined;
    }
    await firstRequests(going, queue);
    const next = queue.splice(0);
    try {
      const results = await multi(client, next.map((q) => q.statement.sql).join('; '));
      next.forEach((queued, i) => deliver(queued, results[i].rows as RowImage[], changes));
    } catch (error) {
      for (const queued of next) queued.reject(new NotSent());
      close();
      if (!isServerError(error)) throw error;
      return undefined;
    }
  }
  close();

  const applied: Applied[] = [];
  const refused: Refused[] = [];
  for (const attempt of attempts) {
    const settled = attempt.settled!;
    if (settled.ok) applied.push({ write: attempt.write, value: settled.value });
    // One that changed rows can only be undone with the whole transaction.
    else if (attempt.changed) return undefined;
    else refused.push({ write: attempt.write, error: refusal(attempt.write, settled.error, log) });
  }
  return { applied, refused, changes, position: BigInt(position) };
}

/** Gives a statement's rows to its write, and its change, if any, to the batch's. */
function deliver({ attempt, statement, resolve }: Queued, returned: RowImage[], changes: Change[]): void {
  const { rows, change } = toChange(statement, returned);
  if (change) {
    attempt.changed = true;
    changes.push(change);
  }
  resolve(rows);
}

/** Microtask turns a batch waits, at most, for its writes' first statements. */
const MAX_TURNS = 32;

/**
 * Lets every write ask for the statements it issues before awaiting any result: done once each
 * has asked or settled and nothing new arrived for a few turns. Only microtasks are awaited, not
 * the event loop (setImmediate let a busy server parse other requests first, which delayed every
 * batch). A write still waiting on something else is not lost: it asks later, and the batch
 * starts over with it.
 */
async function firstRequests(attempts: Attempt[], queue: readonly Queued[]): Promise<void> {
  let quiet = 0;
  for (let turn = 0; turn < MAX_TURNS && quiet < 3; turn++) {
    const before = queue.length;
    await Promise.resolve();
    const everyoneAsked = attempts.every((a) => a.settled || a.asked);
    quiet = everyoneAsked && queue.length === before ? quiet + 1 : 0;
  }
}

/** The error a write that threw gets: its own GraphQLError, or a masked one for anything else (logged). */
function refusal(write: PendingWrite, error: unknown, log: Logger): GraphQLError {
  return error instanceof GraphQLError ? error : unexpectedFailure(write.mutation, error, log);
}

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
async function startOver(client: PoolClient, batch: PendingWrite[], context: LeaderContext): Promise<LeaderBatch> {
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
async function runAlone(client: PoolClient, write: PendingWrite, savepoint: string, { dataSource, log }: LeaderContext): Promise<Alone> {
  const changes: Change[] = [];
  let sent = false;
  let failure: { error: unknown } | undefined;
  let settled = false;
  let chain: Promise<unknown> = Promise.resolve();
  const tx = new LeaderTx(dataSource, (statement) => {
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
