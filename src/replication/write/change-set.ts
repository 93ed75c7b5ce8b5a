import type { Change, RowImage } from '../change';

/**
 * Joins neighbouring changes of one table and kind, so a follower applies a batch of single-row
 * updates as one statement instead of one each. Order across kinds is kept. Two updates of the
 * same row become one, from the first one's before image to the last one's after image: images
 * are whole rows, so the later one already holds the earlier change.
 */
export function mergeChanges(changes: Change[]): Change[] {
  const merged: Change[] = [];
  for (const change of changes) {
    const last = merged[merged.length - 1];
    if (last && last.table === change.table && last.op === change.op) {
      if (change.op === 'update') Object.assign(last, mergeUpdates(last, change));
      else last.rows = [...last.rows, ...change.rows];
    } else {
      merged.push({ ...change, rows: [...change.rows], before: change.before && [...change.before] });
    }
  }
  return merged;
}

function mergeUpdates(first: Change, next: Change): Pick<Change, 'rows' | 'before'> {
  const keyOf = (row: RowImage) => JSON.stringify(first.key.map((column) => row[column]));
  // By the key each row has now. A later update finds its row by the key it had before, which an
  // earlier update may have changed; all of one change's rows are looked up before any moves.
  const byKey = new Map<string, { before: RowImage; after: RowImage }>();
  for (const change of [first, next]) {
    const moves = change.rows.map((after, i) => {
      const before = change.before![i];
      const earlier = byKey.get(keyOf(before));
      return { from: earlier ? keyOf(before) : undefined, pair: { before: earlier?.before ?? before, after } };
    });
    for (const { from, pair } of moves) if (from !== undefined && from !== keyOf(pair.after)) byKey.delete(from);
    for (const { pair } of moves) byKey.set(keyOf(pair.after), pair);
  }
  const pairs = [...byKey.values()];
  return { rows: pairs.map((p) => p.after), before: pairs.map((p) => p.before) };
}
