import { literal } from './sql';

/**
 * Every statement on syncrep's own tables (syncrep_log, syncrep_applied, syncrep_watermark,
 * syncrep_trim, the syncrep_position sequence) and on the catalog views it reads, each a named
 * function: the rest of the replication layer holds no SQL of its own about them. A statement
 * carries the type of its rows, so callers read typed fields.
 *
 * Positions travel as text (bigint), so every ORDER BY names the bigint column itself: an output
 * column of the same name would win, and sort '100' before '34'.
 */
export interface Statement<Row> {
  text: string;
  values?: unknown[];
  /** Never set: it only carries the row type. */
  readonly row?: Row;
}

const statement = <Row>(text: string, values?: unknown[]): Statement<Row> => ({ text, values });

// ---- The leader's write path (inlined into its one-round-trip messages) ----

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

// ---- Trimming the log ----

export const watermark = () => statement<{ upto: string }>('SELECT upto::text FROM syncrep_watermark');

export const trimPoint = () => statement<{ upto: string }>('SELECT upto::text FROM syncrep_trim');

/**
 * The highest position taken so far, then a transaction id assigned just after reading it (the
 * sequence is scanned before the select list is computed). Every transaction that took a position
 * up to the horizon had its id before (it changed rows first), so it has a lower one. Not
 * `pg_snapshot_xmax`: that is one past the highest *completed* id, and a transaction still running
 * can hold an id at or above it (the newest one, say, waiting on a follower's PREPARE).
 */
export const positionHorizon = () =>
  statement<{ horizon: string; xid: string }>(
    `SELECT (CASE WHEN is_called THEN last_value ELSE 0 END)::text AS horizon, pg_current_xact_id()::text AS xid
       FROM syncrep_position`,
  );

/** Whether every transaction with an id below `xid` has ended. */
export const horizonPassed = (xid: string) =>
  statement<{ done: boolean }>('SELECT pg_snapshot_xmin(pg_current_snapshot()) >= $1::xid8 AS done', [xid]);

export const raiseWatermark = (upto: bigint) =>
  statement<never>('UPDATE syncrep_watermark SET upto = $1 WHERE upto < $1', [upto.toString()]);

export const forgetAppliedUpTo = (upto: bigint) => statement<never>('DELETE FROM syncrep_applied WHERE position <= $1', [upto.toString()]);

/** The position `retention` entries below the newest, if the log is longer than that. */
export const positionBeyond = (retention: number) =>
  statement<{ position: string }>('SELECT position::text FROM syncrep_log ORDER BY syncrep_log.position DESC OFFSET $1 LIMIT 1', [
    retention,
  ]);

export const deleteLogUpTo = (upto: bigint) => statement<never>('DELETE FROM syncrep_log WHERE position <= $1', [upto.toString()]);

export const raiseTrimPoint = (upto: bigint) => statement<never>('UPDATE syncrep_trim SET upto = $1 WHERE upto < $1', [upto.toString()]);

// ---- Rebuilding a follower ----

/** What a snapshot of the leader holds of the log: its trim point and every position in it. */
export const logSnapshot = () =>
  statement<{ trimmed: string; positions: string }>(
    `SELECT (SELECT upto FROM syncrep_trim)::text AS trimmed,
            (SELECT coalesce(array_agg(position), '{}') FROM syncrep_log)::text AS positions`,
  );

export const forgetApplied = () => statement<never>('TRUNCATE syncrep_applied');

export const recordAppliedAll = (positions: string) =>
  statement<never>('INSERT INTO syncrep_applied (position) SELECT unnest($1::bigint[])', [positions]);

export const setWatermark = (upto: string) => statement<never>('UPDATE syncrep_watermark SET upto = $1', [upto]);

export const setTrimPoint = (upto: string) => statement<never>('UPDATE syncrep_trim SET upto = $1', [upto]);

// ---- In-doubt transactions and server instances ----

/** syncrep's prepared transactions on a node, if the node is at `epoch` with `leader` (none otherwise: not this server's to settle). */
export const preparedGids = (prefix: string, epoch: bigint, leader: string) =>
  statement<{ gid: string }>(
    `SELECT gid FROM pg_prepared_xacts WHERE database = current_database() AND gid LIKE $1
        AND EXISTS (SELECT 1 FROM syncrep_epoch WHERE epoch = $2 AND leader = $3)`,
    [`${prefix.replace(/_/g, '\\_')}%`, epoch.toString(), leader],
  );

/** Every syncrep prepared transaction on a node, whatever its epoch (a promotion settles them all). */
export const allPreparedGids = (prefix: string) =>
  statement<{ gid: string }>('SELECT gid FROM pg_prepared_xacts WHERE database = current_database() AND gid LIKE $1', [
    `${prefix.replace(/_/g, '\\_')}%`,
  ]);

export const sessionAlive = (pid: number) => statement<{ alive: number }>('SELECT 1 AS alive FROM pg_stat_activity WHERE pid = $1', [pid]);

export const instanceSessions = (applicationName: string) =>
  statement<{ alive: number }>('SELECT 1 AS alive FROM pg_stat_activity WHERE application_name = $1', [applicationName]);

// ---- A follower's mark of divergence ----

/**
 * The health check: one round trip that also reads the node's divergence mark (null: none), the
 * epoch and leader it has recorded, and the highest position committed on it. That position is the
 * node's own record, so it survives trimming and restarts: everything at or below the watermark
 * (a follower) or the trim point (the leader, whose log is emptied), each position recorded as
 * applied, and each in its log (a leader's writes, and what a follower applied).
 */
export const healthCheck = () =>
  statement<{
    markKind: MarkKind | null;
    markReason: string | null;
    epoch: string;
    leader: string | null;
    position: string;
    excluded: string[];
  }>(
    `SELECT d.kind AS "markKind", d.reason AS "markReason", e.epoch::text, e.leader,
            (SELECT coalesce(array_agg(x.node), '{}') FROM syncrep_excluded x WHERE x.epoch = e.epoch) AS excluded,
            greatest((SELECT upto FROM syncrep_watermark), (SELECT upto FROM syncrep_trim),
                     (SELECT max(position) FROM syncrep_applied), (SELECT max(position) FROM syncrep_log))::text AS position
       FROM syncrep_epoch e LEFT JOIN syncrep_divergence d ON true`,
  );

/**
 * A follower's mark: `diverged` (its rows differ), `rebuilding` (a rebuild started and has not
 * caught up yet), or `behind` (it refused a write for lack of an earlier one; catch-up clears it).
 * Each makes it unfit to serve reads, take live writes or be promoted.
 */
export type MarkKind = 'diverged' | 'rebuilding' | 'behind';

export const divergenceMark = () => statement<{ reason: string; kind: MarkKind }>('SELECT reason, kind FROM syncrep_divergence');

/**
 * Marks a follower unfit to serve or be promoted. A mark is never weakened: `diverged` stays, and
 * `rebuilding` (a rebuild is due) is not turned into `behind` (catch-up is enough).
 */
export const setDivergenceMark = (reason: string, kind: MarkKind = 'diverged') =>
  statement<never>(
    `INSERT INTO syncrep_divergence (id, reason, kind) VALUES (1, $1, $2)
       ON CONFLICT (id) DO UPDATE SET reason = EXCLUDED.reason, marked_at = clock_timestamp(),
         kind = CASE WHEN syncrep_divergence.kind = 'diverged' OR (syncrep_divergence.kind = 'rebuilding' AND EXCLUDED.kind = 'behind')
                     THEN syncrep_divergence.kind ELSE EXCLUDED.kind END`,
    [reason, kind],
  );

/** The rebuild's own transaction replaces any mark with `rebuilding`: its rows are the leader's, but it may still lack writes. */
export const markRebuilt = (reason: string) =>
  statement<never>(
    `INSERT INTO syncrep_divergence (id, reason, kind) VALUES (1, $1, 'rebuilding')
       ON CONFLICT (id) DO UPDATE SET reason = EXCLUDED.reason, kind = 'rebuilding', marked_at = clock_timestamp()`,
    [reason],
  );

export const clearDivergenceMark = () => statement<never>('DELETE FROM syncrep_divergence');

/** A follower that has caught up (rebuilt or behind) is fit to be promoted again (a `diverged` mark set meanwhile stays). */
export const clearRebuildingMark = () => statement<never>("DELETE FROM syncrep_divergence WHERE kind IN ('rebuilding', 'behind')");

// ---- Epochs: who leads, and the fence ----

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
