import type { PgNode } from '../nodes/cluster-node';
import { rows, type Runner } from '../sql/sql';
import { logPage, unapplied } from '../sql/log-statements';

/** Positions checked against a follower per round trip. */
const SCAN_PAGE = 10_000;

/**
 * Walks the leader's log above `after` (and at or below `upto`, when given) in position order and
 * yields, page by page, the positions the follower has no record of applying. Every position is
 * checked, not just those above the follower's highest: writes commit out of position order.
 */
export async function* missingPositions(
  /**
   * Where the log is walked: the leader, or any node a promotion reads from; or one transaction on
   * it, so that every page comes from one snapshot (catch-up's replay).
   */
  leader: { pool: Runner },
  follower: PgNode,
  after: bigint,
  upto?: bigint,
): AsyncGenerator<{ missing: string[]; scannedTo: bigint }> {
  let cursor = after.toString();
  for (;;) {
    const page = await rows(leader.pool, logPage(cursor, upto, SCAN_PAGE));
    if (page.length === 0) return;
    cursor = page[page.length - 1].position;
    const missing = await rows(follower.pool, unapplied(page.map((entry) => entry.position)));
    yield { missing: missing.map((m) => m.p), scannedTo: BigInt(cursor) };
  }
}
