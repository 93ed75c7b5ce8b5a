import type { PoolClient } from 'pg';
import type { Change, RowImage } from '../change';
import type { EntityStatement } from '../entities/entity-sql';
import { LeaderTx, toChange } from './leader-tx';
import { NotSent, refusal, type Applied, type LeaderBatch, type LeaderContext, type Refused } from './leader-outcome';
import { startOver } from './leader-serial';
import { isServerError, multi } from '../sql/sql';
import { NEXT_POSITION } from '../sql/log-statements';
import type { PendingWrite } from './write-outcome';

export type { Applied, LeaderBatch, LeaderContext, Refused } from './leader-outcome';

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
async function inOneRound(client: PoolClient, batch: PendingWrite[], { dataSource, returnsOld, log }: LeaderContext) {
  const queue: Queued[] = [];
  let wake: (() => void) | undefined;
  const poke = () => {
    wake?.();
    wake = undefined;
  };
  let closed = false;
  const attempts = batch.map((write, index) => {
    const attempt: Attempt = { write, index, changed: false } as Attempt;
    attempt.tx = new LeaderTx(dataSource, returnsOld, (statement) =>
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
