import { escapeIdentifier } from 'pg';
import type { Statement } from '../sql/statement';

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

/** A sequence a replicated table owns (identity or serial) and where it stands. */
export interface SequencePosition {
  sequence: string;
  /** null when the sequence was never used. */
  value: string | null;
}

/**
 * The positions of every sequence the tables own. Sequences are not transactional: read inside
 * the snapshot, each is at least as far as the ids that snapshot holds.
 */
export function sequencePositions(tables: readonly string[]): Statement<SequencePosition> {
  return {
    text:
      'SELECT d.objid::regclass::text AS sequence, pg_sequence_last_value(d.objid::regclass)::text AS value ' +
      "FROM pg_depend d JOIN pg_sequence s ON s.seqrelid = d.objid WHERE d.classid = 'pg_class'::regclass " +
      "AND d.refobjid = ANY($1::regclass[]) AND d.deptype IN ('a', 'i') ORDER BY 1",
    values: [tables.map(escapeIdentifier)],
  };
}

/** Puts the sequences where `positions` say (a rebuild copying the leader's), inside the caller's transaction. */
export function setSequences(positions: readonly SequencePosition[]): Statement<never> {
  const used = positions.filter((p) => p.value !== null);
  return {
    text: 'SELECT setval(s::regclass, v::bigint) FROM unnest($1::text[], $2::text[]) AS p(s, v)',
    values: [used.map((p) => p.sequence), used.map((p) => p.value)],
  };
}
