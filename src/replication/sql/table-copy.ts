import { escapeIdentifier } from 'pg';
import type { Statement } from './statements';

/** Every row of a replicated table as one JSON array (text), read inside the caller's snapshot. */
export function tableAsJson(table: string): Statement<{ rows: string }> {
  return { text: `SELECT coalesce(jsonb_agg(t), '[]')::text AS rows FROM ${escapeIdentifier(table)} t` };
}

/**
 * Empties every replicated table in one statement, inside the caller's transaction: PostgreSQL
 * refuses to truncate a table another refers to unless that one is truncated with it.
 */
export function truncateAll(tables: readonly string[]): Statement<never> {
  return { text: `TRUNCATE ${tables.map(escapeIdentifier).join(', ')}` };
}

/** Inserts `json` (from tableAsJson) into an emptied table, inside the caller's transaction. */
export function insertRows(table: string, json: string): Statement<never> {
  const name = escapeIdentifier(table);
  return { text: `INSERT INTO ${name} SELECT * FROM jsonb_populate_recordset(NULL::${name}, $1::jsonb)`, values: [json] };
}
