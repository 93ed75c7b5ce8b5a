import { escapeIdentifier } from 'pg';
import type { Change, RowImage, TableShape } from '../change';
import type { SessionStatement } from './session-statements';
import type { StatementBook } from './statement-book';
import { dollarQuote, literal } from './sql';

/** What the leader runs inside its commit round trip, and the session statements it needs first. */
export interface ConfirmScript {
  sql: string;
  statements: SessionStatement[];
}

/** A key's state once the whole batch has run: the row it must hold, or none (deleted, or moved away). */
interface FinalImage {
  key: RowImage;
  row?: RowImage;
}

/**
 * SQL that makes the leader refuse to commit anything but what it ships: run in the commit round
 * trip, just before the log row and COMMIT, it compares the leader's rows for every key the batch
 * touched with the final row images sent to the followers (a deleted key must be gone), and
 * raises SR002 on any difference, so the COMMIT never runs and the batch fails on every node.
 * A mutation undone on the leader alone, for any reason, can then never be acknowledged.
 * Rows are compared as the followers read the images (jsonb_populate_record), column by column.
 */
export function confirmSql(changes: Change[], book: StatementBook): ConfirmScript {
  const statements = new Map<string, SessionStatement>();
  const parts = ['SET LOCAL plan_cache_mode = force_generic_plan'];
  for (const { shape, images } of finalImages(changes)) {
    const statement = book.confirm(shape);
    statements.set(statement.name, statement);
    const what = literal(`the batch's rows in ${shape.table}`);
    const json = images.map(({ key, row }) => (row ? { k: key, r: row } : { k: key }));
    parts.push(`EXECUTE ${statement.name}(${dollarQuote(JSON.stringify(json))}, ${images.length}, ${what})`);
  }
  return { sql: parts.join('; '), statements: [...statements.values()] };
}

/**
 * Each touched key's final state, per table, in the order the changes ran: an insert or update
 * sets the key's row, a delete clears it, and an update that changes a key clears the old key
 * first (all of one statement's old keys before its new ones: rows may swap keys).
 */
export function finalImages(changes: Change[]): { shape: TableShape; images: FinalImage[] }[] {
  const tables = new Map<string, { shape: TableShape; byKey: Map<string, FinalImage> }>();
  for (const change of changes) {
    let table = tables.get(change.table);
    if (!table) {
      table = { shape: { table: change.table, key: change.key, columns: change.columns }, byKey: new Map() };
      tables.set(change.table, table);
    }
    const { byKey } = table;
    const keyOf = (row: RowImage) => Object.fromEntries(change.key.map((column) => [column, row[column]]));
    const set = (row: RowImage, after: RowImage | undefined) => byKey.set(JSON.stringify(keyOf(row)), { key: keyOf(row), row: after });
    switch (change.op) {
      case 'insert':
        for (const row of change.rows) set(row, row);
        break;
      case 'update':
        for (const before of change.before ?? []) set(before, undefined);
        for (const row of change.rows) set(row, row);
        break;
      case 'delete':
        for (const row of change.rows) set(row, undefined);
        break;
    }
  }
  return [...tables.values()].map(({ shape, byKey }) => ({ shape, images: [...byKey.values()] }));
}

/**
 * The confirm statement of one table shape, named `name`. $1 the final images (jsonb array of {k: key, r?: row}), $2 how many, $3 what to call them in an
 * error. The raising function is called only on a difference: a call per commit cost more than the check.
 */
export function confirmStatementOf({ table, key, columns }: TableShape, name: string): SessionStatement {
  const t = escapeIdentifier(table);
  const cols = columns.map(escapeIdentifier);
  const keys = key.map(escapeIdentifier);
  const row = (alias: string) => `ROW(${cols.map((c) => `${alias}.${c}`).join(', ')})`;
  // A primary key column is never null, so a null one means "no row".
  const absent = (alias: string) => `${alias}.${keys[0]} IS NULL`;
  return {
    name,
    definition:
      `(jsonb, int, text) AS SELECT CASE WHEN count(*) > 0 THEN syncrep_confirm(count(*)::int, $2, $3) END FROM ` +
      `(SELECT e FROM jsonb_array_elements($1) AS e LIMIT $2) AS p ` +
      `CROSS JOIN LATERAL jsonb_populate_record(NULL::${t}, p.e -> 'k') AS k ` +
      `LEFT JOIN ${t} AS t ON ${keys.map((c) => `t.${c} = k.${c}`).join(' AND ')} ` +
      `LEFT JOIN LATERAL jsonb_populate_record(NULL::${t}, p.e -> 'r') AS r ON p.e ? 'r' ` +
      `WHERE CASE WHEN p.e ? 'r' THEN ${absent('t')} OR ${row('t')} IS DISTINCT FROM ${row('r')} ELSE NOT ${absent('t')} END`,
  };
}
