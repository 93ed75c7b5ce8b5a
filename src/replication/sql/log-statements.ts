import { literal } from './sql';
import { statement } from './statement';

/**
 * Statements on the replication log and followers' applied positions: the leader's write path
 * (its fragments are inlined into its one-round-trip messages), what a node has applied, and lags.
 */

/** Takes the next replication position (after the batch's row locks, so per row it orders commits). */
export const NEXT_POSITION = "SELECT nextval('syncrep_position')::text AS position";

export const nextPosition = () => statement<{ position: string }>(NEXT_POSITION);

/** The durable decision of a distributed commit: its gid in the log means "commit". */
export function logDecisionSql(position: bigint, gid: string, changesLiteral: string): string {
  return `INSERT INTO syncrep_log (position, gid, changes) VALUES (${position}, ${literal(gid)}, ${changesLiteral})`;
}

// ---- Followers' applied positions, and the log ----

export const isApplied = (position: bigint) =>
  statement<{ applied: number }>('SELECT 1 AS applied FROM syncrep_applied WHERE position = $1', [position.toString()]);

/**
 * Whether this node has committed `position` (read-your-writes: the first statement of the read's
 * own transaction, so the read sees what the check saw). Exact, never "its highest position is at
 * least this": positions commit out of order. At or below its watermark everything committed is
 * applied (a follower), at or below its trim point everything committed is here (the leader, whose
 * log is emptied; a follower's trim point never passes its watermark); above them the position
 * itself is recorded, as applied (a follower) or in the log (the leader, and a follower's copy).
 */
export const hasPosition = (position: bigint) =>
  statement<{ reached: boolean }>(`SELECT ${reachedSql('$1')} AS reached`, [position.toString()]);

/** hasPosition's condition on the position in parameter `param` (`$3`), for a read that carries its own check. */
export const reachedSql = (param: string): string =>
  `(${param}::bigint <= (SELECT upto FROM syncrep_watermark) OR ${param}::bigint <= (SELECT upto FROM syncrep_trim)
         OR EXISTS (SELECT 1 FROM syncrep_applied WHERE position = ${param}::bigint)
         OR EXISTS (SELECT 1 FROM syncrep_log WHERE position = ${param}::bigint))`;

/** One page of the leader's log positions above `after` (and at or below `upto`). */
export const logPage = (after: string, upto: bigint | undefined, limit: number) =>
  statement<{ position: string }>(
    `SELECT position::text FROM syncrep_log WHERE position > $1 AND ($2::bigint IS NULL OR position <= $2)
      ORDER BY syncrep_log.position LIMIT $3`,
    [after, upto?.toString() ?? null, limit],
  );

/**
 * Of `positions`, those a follower has no record of applying. Everything at or below its
 * watermark is applied, whatever rows remain: the trimmer raises the watermark and deletes the
 * rows below it in one transaction, and this one statement sees both or neither, so a caller
 * holding an older watermark never mistakes a deleted row for a missing write. A position in the
 * node's own log is applied too (a node that led once logged its own writes there only).
 */
export const unapplied = (positions: string[]) =>
  statement<{ p: string }>(
    `SELECT x.p::text AS p FROM unnest($1::bigint[]) AS x(p)
      WHERE x.p > (SELECT upto FROM syncrep_watermark)
        AND NOT EXISTS (SELECT 1 FROM syncrep_applied a WHERE a.position = x.p)
        AND NOT EXISTS (SELECT 1 FROM syncrep_log l WHERE l.position = x.p) ORDER BY x.p`,
    [positions],
  );

export const logEntries = (positions: string[]) =>
  statement<{ position: string; gid: string; changes: unknown }>(
    'SELECT position::text, gid, changes FROM syncrep_log WHERE position = ANY($1::bigint[]) ORDER BY syncrep_log.position',
    [positions],
  );

/** Whether the leader logged `gid` (the decision "commit"), and whether it actively leads `epoch` (else its log decides nothing yet). */
export const isDecided = (gid: string, epoch: bigint, leader: string) =>
  statement<{ decided: boolean; current: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM syncrep_log WHERE gid = $1) AS decided,
            EXISTS (SELECT 1 FROM syncrep_epoch WHERE epoch = $2 AND leader = $3 AND state = 'active') AS current`,
    [gid, epoch.toString(), leader],
  );

/**
 * Whether the leader never took a replication position: no write ever committed or even started
 * on this cluster. Unlike an empty log, this survives trimming (the trimmer empties the log).
 */
export const positionsNeverTaken = () => statement<{ fresh: boolean }>('SELECT NOT is_called AS fresh FROM syncrep_position');

/**
 * Per follower (by its highest applied position), how many of the leader's committed positions
 * above it, up to `upto` (the leader's position read in the same health round), it lacks, and
 * how long ago the oldest of them committed.
 */
export const lags = (applied: bigint[], upto: bigint) =>
  statement<{ i: number; positions: number; ms: number }>(
    `SELECT f.i, count(l.position)::int AS positions,
            coalesce(extract(epoch FROM clock_timestamp() - min(l.committed_at)) * 1000, 0)::int AS ms
       FROM unnest($1::bigint[]) WITH ORDINALITY AS f(applied, i)
       LEFT JOIN syncrep_log l ON l.position > f.applied AND l.position <= $2
      GROUP BY f.i ORDER BY f.i`,
    [applied.map(String), upto.toString()],
  );
