import type { PoolClient } from 'pg';
import type { Change } from '../change';
import { confirmSql } from '../sql/confirm-sql';
import { ensurePrepared } from '../sql/session-statements';
import { dollarQuote, multi } from '../sql/sql';
import { logDecisionSql } from '../sql/statements';

/**
 * Step 3 of the write path, on the leader, in one round trip: confirm that its rows for every key
 * the batch touched are the images the followers prepared (sql/confirm-sql.ts; SR002 otherwise,
 * and the COMMIT never runs), append the decision to syncrep_log, and COMMIT. The log row is the
 * durable decision: once it is committed, the write stands on every node. `sending` is called
 * just before the message goes out: from then on, a lost connection leaves the outcome to the log.
 */
export async function commitOnLeader(
  client: PoolClient,
  changes: Change[],
  position: bigint,
  gid: string,
  sending: () => void,
): Promise<void> {
  const confirm = confirmSql(changes);
  await ensurePrepared(client, confirm.statements);
  sending();
  await multi(client, `${confirm.sql}; ${logDecisionSql(position, gid, dollarQuote(JSON.stringify(changes)))}; COMMIT`);
}
