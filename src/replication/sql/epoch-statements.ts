import { literal } from './sql';
import type { MarkKind } from './mark-statements';
import { statement } from './statement';

/** Statements on epochs: who leads, the fence every commit checks, claims and promotions. */

export interface EpochRow {
  epoch: string;
  leader: string | null;
  state: 'active' | 'promoting';
  /** The leader this epoch deposed, until it has been rebuilt and caught up. */
  previous?: string | null;
}

export const epochRow = () => statement<EpochRow>('SELECT epoch::text, leader, state, previous FROM syncrep_epoch');

/** The deposed leader has been rebuilt and caught up: a server starting while it is down need not exclude it. */
export const forgetDeposed = (name: string) => statement<never>('UPDATE syncrep_epoch SET previous = NULL WHERE previous = $1', [name]);

/** What a promotion reads of each node before it changes anything. */
export interface ProbeRow extends EpochRow {
  mark: MarkKind | null;
  watermark: string;
  trimmed: string;
}

export const probeRow = () =>
  statement<ProbeRow>(
    `SELECT e.epoch::text, e.leader, e.state, e.previous, (SELECT kind FROM syncrep_divergence) AS mark,
            (SELECT upto::text FROM syncrep_watermark) AS watermark, (SELECT upto::text FROM syncrep_trim) AS trimmed
       FROM syncrep_epoch e`,
  );

/**
 * Of `positions`, those this node has committed: recorded as applied, or in its log (a leader
 * records its own writes only there). Not "at or below its watermark": that says every position
 * that committed is applied, and a position whose write was rolled back everywhere lies below it
 * too (positions are never reused), so it is no evidence that a given one committed.
 */
export const committedAmong = (positions: string[]) =>
  statement<{ p: string }>(
    `SELECT x.p::text AS p FROM unnest($1::bigint[]) AS x(p)
      WHERE EXISTS (SELECT 1 FROM syncrep_applied a WHERE a.position = x.p)
         OR EXISTS (SELECT 1 FROM syncrep_log l WHERE l.position = x.p)`,
    [positions],
  );

/**
 * Until a first promotion, the leader is the first configured node, whatever name an earlier
 * configuration gave it: epoch 0's record follows REPLICATION_NODES. From epoch 1 on, the nodes' record rules.
 */
export const recordInitialLeader = (leader: string) =>
  statement<never>('UPDATE syncrep_epoch SET leader = $1, updated_at = clock_timestamp() WHERE epoch = 0 AND leader IS DISTINCT FROM $1', [
    leader,
  ]);

/**
 * SQL, inlined into the leader's commit message (`lead`) and every follower apply, that raises
 * SR003 unless this node is at `epoch` with `leader`.
 */
export function checkEpochSql(epoch: bigint, leader: string, lead: boolean): string {
  return `SELECT syncrep_check_epoch(${epoch}, ${literal(leader)}, ${lead})`;
}

/**
 * A promotion's claim of a node for `epoch` and `leader`: a compare-and-set that takes any node of
 * an older epoch, and is a no-op on one this same promotion claimed already (a rerun). Waits for
 * the leader's decisions in flight (they hold the row FOR SHARE). No row: a newer epoch holds it.
 */
export const claimEpoch = (epoch: bigint, leader: string) =>
  statement<{ state: string }>(
    `UPDATE syncrep_epoch SET epoch = $1, leader = $2, updated_at = clock_timestamp(),
            previous = CASE WHEN epoch = $1 THEN previous ELSE leader END,
            state = CASE WHEN epoch = $1 THEN state ELSE 'promoting' END
      WHERE epoch < $1 OR (epoch = $1 AND leader = $2) RETURNING state`,
    [epoch.toString(), leader],
  );

/** A row when the node actively leads `epoch` (read without a lock). */
export const leadsActively = (epoch: bigint, leader: string) =>
  statement<{ yes: number }>(`SELECT 1 AS yes FROM syncrep_epoch WHERE epoch = $1 AND leader = $2 AND state = 'active'`, [
    epoch.toString(),
    leader,
  ]);

/** Makes a claimed new leader able to decide writes (the last step of a promotion). */
export const activateEpoch = (epoch: bigint, leader: string) =>
  statement<never>(`UPDATE syncrep_epoch SET state = 'active', updated_at = clock_timestamp() WHERE epoch = $1 AND leader = $2`, [
    epoch.toString(),
    leader,
  ]);

/** Fences a node of an older epoch (a deposed leader, a follower no promotion reached) to the current one. */
export const followEpoch = (epoch: bigint, leader: string) =>
  statement<never>(`UPDATE syncrep_epoch SET epoch = $1, leader = $2, state = 'active', updated_at = clock_timestamp() WHERE epoch < $1`, [
    epoch.toString(),
    leader,
  ]);

/** Ends every session of another syncrep server instance (their applies may have passed the epoch check just before a claim). */
export const terminateOtherInstances = (myApplicationName: string) =>
  statement<{ pid: number }>(
    `SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity
      WHERE application_name LIKE 'syncrep %' AND application_name <> $1 AND pid <> pg_backend_pid()`,
    [myApplicationName],
  );

/** Which of `pids` are still sessions of the node (the barrier waits for the ones it ended). */
export const sessionsLeft = (pids: number[]) =>
  statement<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE pid = ANY($1::int[])`, [pids]);

/** Starts a new leader's positions in its own epoch's range: position = epoch * 2^40 + sequence. */
export const startEpochPositions = (epoch: bigint) =>
  statement<never>(
    `SELECT setval('syncrep_position', greatest($1::bigint, (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM syncrep_position)))`,
    [(epoch << 40n).toString()],
  );
