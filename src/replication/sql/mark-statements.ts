import { statement } from './statement';

/** Statements on a node's divergence mark, and the health check that reads it. */

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
