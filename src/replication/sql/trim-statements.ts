import { statement } from './statement';

/** Statements of the log trimmer: watermarks, trim points, and the horizon it may trim to. */

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
