import type { Change, RowImage } from './mutation';

/**
 * Joins neighbouring changes of one table and kind, so a follower applies a batch of single-row
 * updates as one statement instead of one each. Order across kinds is kept. Two updates of the
 * same row keep the later image: images are whole rows, so it already holds the earlier change.
 */
export function mergeChanges(changes: Change[]): Change[] {
  const merged: Change[] = [];
  for (const change of changes) {
    const last = merged[merged.length - 1];
    if (last && last.table === change.table && last.op === change.op) {
      last.rows = change.op === 'update' ? lastImagePerKey([...last.rows, ...change.rows], change.key) : [...last.rows, ...change.rows];
    } else {
      merged.push({ ...change, rows: [...change.rows] });
    }
  }
  return merged;
}

function lastImagePerKey(rows: RowImage[], key: string[]): RowImage[] {
  const byKey = new Map<string, RowImage>();
  for (const row of rows) byKey.set(JSON.stringify(key.map((column) => row[column])), row);
  return [...byKey.values()];
}
