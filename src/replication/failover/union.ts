import type { Change } from '../change';
import type { PgNode } from '../nodes/cluster-node';
import { missingPositions } from '../log/log-scan';
import { applyOn, applySql, type ApplyEntry } from '../sql/apply-sql';
import { row, rows, withRollback } from '../sql/sql';
import type { StatementBook } from '../sql/statement-book';
import { logEntries } from '../sql/log-statements';
import { watermark as watermarkOf } from '../sql/trim-statements';

/** Entries applied to the candidate per transaction. */
const BATCH = 500;

/**
 * Makes the candidate hold every write any reached node committed: for each other reached node,
 * the positions in its log the candidate has not applied, with their row images and original
 * gids, applied on the candidate strictly and in position order (so per row in commit order),
 * with the new epoch's fence. The candidate's log then holds them too, so "a gid in the current
 * leader's log means commit" stays true for every gid of the old epoch. Returns how many it applied.
 */
export async function adoptUnion(
  candidate: PgNode,
  sources: readonly PgNode[],
  fence: { epoch: bigint; leader: string },
  book: StatementBook,
): Promise<number> {
  const wanted = new Map<string, ApplyEntry>();
  const watermark = BigInt((await row(candidate.pool, watermarkOf())).upto);
  for (const source of sources) {
    for await (const { missing } of missingPositions(source, candidate, watermark)) {
      const needed = missing.filter((p) => !wanted.has(p));
      if (needed.length === 0) continue;
      for (const entry of await rows(source.pool, logEntries(needed))) {
        wanted.set(entry.position, { position: entry.position, gid: entry.gid, changes: entry.changes as Change[] });
      }
    }
  }
  const entries = [...wanted.values()].sort((a, b) => (BigInt(a.position) < BigInt(b.position) ? -1 : 1));
  for (let i = 0; i < entries.length; i += BATCH) {
    const apply = applySql(entries.slice(i, i + BATCH), fence, 'replay', book);
    await withRollback(candidate.pool, (client) => applyOn(client, apply, 'COMMIT'));
  }
  return entries.length;
}
