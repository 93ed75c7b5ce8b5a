import { statement } from './statement';

/** Statements of a follower's rebuild: the leader's log as of the copy, and the rebuilt node's records. */

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
