import { escapeIdentifier } from 'pg';
import type { Statement } from './statements';

/** Every row of a replicated table as one JSON array (text), read inside the caller's snapshot. */
export function tableAsJson(table: string): Statement<{ rows: string }> {
  return { text: `SELECT coalesce(jsonb_agg(t), '[]')::text AS rows FROM ${escapeIdentifier(table)} t` };
}

/** Replaces a replicated table's rows with `json` (from tableAsJson), inside the caller's transaction. */
export function replaceTable(table: string, json: string): { text: string; values?: unknown[] }[] {
  const name = escapeIdentifier(table);
  return [
    { text: `TRUNCATE ${name}` },
    { text: `INSERT INTO ${name} SELECT * FROM jsonb_populate_recordset(NULL::${name}, $1::jsonb)`, values: [json] },
  ];
}
