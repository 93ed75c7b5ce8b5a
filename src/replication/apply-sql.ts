import { escapeIdentifier } from 'pg';
import type { Change, ChangeOp, TableShape } from './mutation';
import { dollarQuote, literal } from './sql';

/** The statement templates of one table, built once: only the row images change between writes. */
interface TableStatements {
  columns: string;
  /** SET list that takes the new image only where the row still holds the leader's before image. */
  guardedSets: string;
  keysT: string;
  keysB: string;
  rowT: string;
  rowR: string;
}

const templates = new Map<string, TableStatements>();

function statementsFor({ table, key, columns }: TableShape): TableStatements {
  // Only the shape: a change carries its rows too, which must not become part of the key.
  const cacheKey = JSON.stringify([table, key, columns]);
  let built = templates.get(cacheKey);
  if (!built) {
    const cols = columns.map(escapeIdentifier);
    const keys = key.map(escapeIdentifier);
    const row = (alias: string) => `ROW(${cols.map((c) => `${alias}.${c}`).join(', ')})`;
    built = {
      columns: cols.join(', '),
      guardedSets: cols.map((c) => `${c} = CASE WHEN ${row('t')} IS NOT DISTINCT FROM ${row('b')} THEN r.${c} ELSE t.${c} END`).join(', '),
      keysT: keys.map((k) => `t.${k} = r.${k}`).join(' AND '),
      keysB: keys.map((k) => `b.${k} = r.${k}`).join(' AND '),
      rowT: row('t'),
      rowR: row('r'),
    };
    templates.set(cacheKey, built);
  }
  return built;
}

/**
 * SQL that applies one position's row images on a follower, strictly, and records the position
 * in the same transaction. An insert must insert; an update or delete must match exactly the rows
 * the leader changed, each holding what it held on the leader just before (else syncrep_expect
 * raises SR001: this node diverged, or lacks an earlier write to the row). Rows a write has
 * prepared here but not committed are waited for and compared as they are once it commits, so
 * nothing may raise inside the UPDATE or DELETE itself: mismatches are counted and checked after.
 */
export function applySql(position: bigint | string, changes: Change[]): string {
  return [
    `INSERT INTO syncrep_applied (position) VALUES (${literal(String(position))}::bigint)`,
    ...changes.map((change) => applyChange(change, String(position))),
  ].join('; ');
}

function applyChange(change: Change, position: string): string {
  const s = statementsFor(change);
  const table = escapeIdentifier(change.table);
  const n = change.rows.length;
  const images = (rows: unknown[]) => `(SELECT * FROM jsonb_populate_recordset(NULL::${table}, ${dollarQuote(JSON.stringify(rows))}) LIMIT ${n})`;
  const check = (op: ChangeOp, from: string, differing: string) =>
    `SELECT syncrep_expect(count(*)::int, ${differing}, ${n}, ${literal(`${op} on ${change.table} at position ${position}`)}) FROM ${from}`;
  switch (change.op) {
    case 'insert':
      return `WITH c AS (INSERT INTO ${table} (${s.columns}) SELECT ${s.columns} FROM ${images(change.rows)} AS r RETURNING 1) ${check('insert', 'c', '0')}`;
    case 'update':
      return (
        `WITH c AS (UPDATE ${table} AS t SET ${s.guardedSets} FROM ${images(change.rows)} AS r, ${images(change.before ?? [])} AS b ` +
        `WHERE ${s.keysT} AND ${s.keysB} RETURNING ${s.rowT} IS NOT DISTINCT FROM ${s.rowR} AS same) ` +
        check('update', 'c', 'count(*) FILTER (WHERE NOT same)::int')
      );
    case 'delete':
      return (
        `WITH c AS (DELETE FROM ${table} AS t USING ${images(change.rows)} AS r WHERE ${s.keysT} ` +
        `RETURNING ${s.rowT} IS NOT DISTINCT FROM ${s.rowR} AS same) ` +
        check('delete', 'c', 'count(*) FILTER (WHERE NOT same)::int')
      );
    default: {
      const unreachable: never = change.op;
      throw new Error(`unknown change op ${String(unreachable)}`);
    }
  }
}
