import type { FollowerNode, LeaderNode } from './cluster-node';

// Positions travel as text (bigint), so every ORDER BY names the bigint column itself: an output
// column of the same name would win, and sort '100' before '34'.

/** Positions checked against a follower per round trip. */
const SCAN_PAGE = 10_000;

/**
 * Walks the leader's log above `after` (and at or below `upto`, when given) in position order and
 * yields, page by page, the positions the follower has no record of applying. Every position is
 * checked, not just those above the follower's highest: writes commit out of position order.
 */
export async function* missingPositions(
  leader: LeaderNode,
  follower: FollowerNode,
  after: bigint,
  upto?: bigint,
): AsyncGenerator<{ missing: string[]; scannedTo: bigint }> {
  let cursor = after.toString();
  for (;;) {
    const page: { position: string }[] = await leader.dataSource.query(
      `SELECT position::text FROM syncrep_log WHERE position > $1 AND ($2::bigint IS NULL OR position <= $2)
        ORDER BY syncrep_log.position LIMIT $3`,
      [cursor, upto?.toString() ?? null, SCAN_PAGE],
    );
    if (page.length === 0) return;
    cursor = page[page.length - 1].position;
    const missing: { p: string }[] = await follower.dataSource.query(
      `SELECT x.p::text AS p FROM unnest($1::bigint[]) AS x(p)
        WHERE NOT EXISTS (SELECT 1 FROM syncrep_applied a WHERE a.position = x.p) ORDER BY x.p`,
      [page.map((row) => row.position)],
    );
    yield { missing: missing.map((m) => m.p), scannedTo: BigInt(cursor) };
  }
}
