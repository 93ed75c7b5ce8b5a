import type { PoolClient } from 'pg';
import type { Change } from '../change';
import { confirmSql } from '../sql/confirm-sql';
import type { StatementBook } from '../sql/statement-book';
import { ensurePrepared } from '../sql/session-statements';
import { dollarQuote, multi } from '../sql/sql';
import { checkEpochSql } from '../sql/epoch-statements';
import { logDecisionSql } from '../sql/log-statements';
import type { Fence } from '../sql/apply-sql';
import { checkExcludedSql, noteExcludedSql } from '../recovery/write-set';
import type { LeftOut } from './sync-policy';

/**
 * Step 3 of the write path, on the leader, in one round trip: check it still leads this epoch
 * (holding its epoch row FOR SHARE until COMMIT, so a promotion's fence waits for this decision
 * and every later one fails with SR003), check the followers it leaves out are recorded so (SR005
 * otherwise, recovery/write-set.ts), confirm that its rows for every key
 * the batch touched are the images the followers prepared (sql/confirm-sql.ts; SR002 otherwise,
 * and the COMMIT never runs), append the decision to syncrep_log, and COMMIT. The log row is the
 * durable decision: once it is committed, the write stands on every node. `sending` is called
 * just before the message goes out: from then on, a lost connection leaves the outcome to the log.
 */
export async function commitOnLeader(
  client: PoolClient,
  changes: Change[],
  json: string,
  decision: { position: bigint; gid: string; fence: Fence; leftOut: LeftOut },
  book: StatementBook,
  sending: () => void,
): Promise<void> {
  const { position, gid, fence, leftOut } = decision;
  const confirm = confirmSql(changes, book);
  await ensurePrepared(client, confirm.statements);
  sending();
  // A write that leaves followers out may do so only while the leader records them out (sync mode
  // all), or records them itself (quorum); held FOR SHARE like the epoch row, so the repairer
  // putting one back waits for this decision.
  const checks = [checkEpochSql(fence.epoch, fence.leader, true)];
  if (leftOut.recorded.length > 0) checks.push(checkExcludedSql(fence.epoch, leftOut.recorded));
  if (leftOut.toRecord.length > 0) checks.push(noteExcludedSql(fence.epoch, leftOut.toRecord));
  const check = checks.join('; ');
  await multi(client, `${check}; ${confirm.sql}; ${logDecisionSql(position, gid, dollarQuote(json))}; COMMIT`);
}
