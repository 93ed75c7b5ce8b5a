import { escapeIdentifier } from 'pg';
import type { EntityMetadata } from 'typeorm/metadata/EntityMetadata';
import type { ChangeOp, TableShape } from '../change';
import { literal } from '../sql/sql';
import { columnOf, toColumnValue } from './entity-rows';

/**
 * The one module that turns entity-level writes into SQL. Column names and keys come from
 * TypeORM's metadata; every value is converted by the driver and inlined with `literal`, so a
 * batch of writes still travels to the leader as one simple-protocol message. Domain code never
 * writes SQL: each statement changes one table and returns every row it changed, so the row
 * images shipped to followers and confirmed on the leader are all there is.
 */

/** The column an update statement returns, beside the new row, holding the row as it was (jsonb). */
export const BEFORE_IMAGE = 'syncrep_before';

/** Criteria by entity property: a value is `=`, an array is `IN`, null is `IS NULL`; all of them must hold. */
export type Criteria<E> = { [P in keyof E]?: E[P] | readonly E[P][] | null };

/** Adds `by` to a numeric column in the statement itself (no read first): `salary: increment(-10)`. */
export class Increment {
  constructor(readonly by: number) {
    if (!Number.isFinite(by)) throw new Error(`increment(${by}): not a finite number`);
  }
}

/** See Increment. */
export const increment = (by: number): Increment => new Increment(by);

/** New values by entity property, or increments of numeric ones. */
export type Changes<E> = { [P in keyof E]?: E[P] | Increment | null };

/** Property values of a new row; a column left out takes its default (a generated key, say). */
export type Values<E> = { [P in keyof E]?: E[P] | null };

/** A statement the write API runs on the leader: what it does, to which table, as SQL. */
export interface EntityStatement {
  metadata: EntityMetadata;
  /** `lock` reads rows FOR UPDATE and changes nothing. */
  op: ChangeOp | 'lock';
  table: TableShape;
  sql: string;
}

/** The table shape followers apply by: name, primary key, every column, all by their database names. */
export function shapeOf(metadata: EntityMetadata): TableShape {
  const sequences = metadata.columns
    // identity and serial columns (TypeORM's 'identity' and 'increment'); uuid and rowid use no sequence
    .filter((column) => column.isGenerated && column.generationStrategy !== 'uuid' && column.generationStrategy !== 'rowid')
    .map((column) => column.databaseName);
  return {
    table: metadata.tableName,
    key: metadata.primaryColumns.map((column) => column.databaseName),
    columns: metadata.columns.map((column) => column.databaseName),
    ...(sequences.length > 0 ? { sequences } : {}),
  };
}

const name = (metadata: EntityMetadata) => escapeIdentifier(metadata.tableName);
const returning = (metadata: EntityMetadata) =>
  `RETURNING ${metadata.columns.map((c) => `${name(metadata)}.${escapeIdentifier(c.databaseName)}`).join(', ')}`;

/** The WHERE condition of `criteria`, each column qualified with the table name. */
export function whereSql<E>(metadata: EntityMetadata, criteria: Criteria<E>): string {
  const parts: string[] = [];
  for (const [property, wanted] of Object.entries(criteria as Record<string, unknown>)) {
    if (wanted === undefined) continue;
    const column = columnOf(metadata, property);
    const ref = `${name(metadata)}.${escapeIdentifier(column.databaseName)}`;
    if (wanted === null) parts.push(`${ref} IS NULL`);
    else if (Array.isArray(wanted)) {
      const values = wanted.map((v: unknown) => literal(toColumnValue(metadata, column, v)));
      parts.push(values.length === 0 ? 'false' : `${ref} IN (${values.join(', ')})`);
    } else parts.push(`${ref} = ${literal(toColumnValue(metadata, column, wanted))}`);
  }
  // An empty filter would change every row: never what a caller of "by criteria" meant by accident.
  if (parts.length === 0) throw new Error(`${metadata.name}: a write by criteria needs at least one criterion`);
  return parts.join(' AND ');
}

/**
 * INSERT of `rows`, every one with the same columns (the union of the properties given; one a row
 * leaves out is DEFAULT there). With `onConflict`, a row whose values in those columns exist
 * already is skipped (ON CONFLICT DO NOTHING): the upsert's insert.
 */
export function insertStatement<E>(metadata: EntityMetadata, rows: readonly Values<E>[], onConflict?: readonly string[]): EntityStatement {
  if (rows.length === 0) throw new Error(`${metadata.name}: an insert needs at least one row`);
  const given = new Set(rows.flatMap((r) => Object.keys(r).filter((k) => (r as Record<string, unknown>)[k] !== undefined)));
  const columns = [...given].map((property) => columnOf(metadata, property));
  // Every column left to its default: name the key so that the VALUES list is not empty.
  const listed = columns.length > 0 ? columns : metadata.primaryColumns.slice(0, 1);
  const values = rows.map((r) => {
    const byProperty = r as Record<string, unknown>;
    const cells = listed.map((column) =>
      byProperty[column.propertyName] === undefined ? 'DEFAULT' : literal(toColumnValue(metadata, column, byProperty[column.propertyName])),
    );
    return `(${cells.join(', ')})`;
  });
  const conflict =
    onConflict === undefined
      ? ''
      : ` ON CONFLICT (${onConflict.map((p) => escapeIdentifier(columnOf(metadata, p).databaseName)).join(', ')}) DO NOTHING`;
  return {
    metadata,
    op: 'insert',
    table: shapeOf(metadata),
    sql: `INSERT INTO ${name(metadata)} (${listed.map((c) => escapeIdentifier(c.databaseName)).join(', ')}) VALUES ${values.join(', ')}${conflict} ${returning(metadata)}`,
  };
}

/**
 * UPDATE of the rows matching `criteria`, returning each row and its prior image (BEFORE_IMAGE)
 * for followers to check theirs against. On PostgreSQL 18 the update returns the row it replaced
 * itself (`returnsOld`: `RETURNING old`, one statement); before 18 the rows are locked first, in
 * key order, and the image is the row as locked.
 *
 * `RETURNING old` is exact for an update that waited on a concurrent one, except on a table with
 * a BEFORE UPDATE row trigger: the trigger re-reads the newest row, the update computes from it,
 * and `old` is still the row first seen (10,066 of 12,000 racing updates of one row on 18.4; none
 * of 48,000 without the trigger, with an AFTER trigger or a foreign key). syncrep refuses triggers
 * on replicated tables (nodes/table-rules.ts); one added behind its back makes followers refuse
 * the write (a before image they do not hold), never accept a wrong one.
 */
export function updateStatement<E>(
  metadata: EntityMetadata,
  criteria: Criteria<E>,
  changes: Changes<E>,
  returnsOld: boolean,
): EntityStatement {
  const table = name(metadata);
  const sets = Object.entries(changes as Record<string, unknown>)
    .filter(([, value]) => value !== undefined)
    .map(([property, value]) => {
      const column = columnOf(metadata, property);
      const col = escapeIdentifier(column.databaseName);
      if (value instanceof Increment) return `${col} = ${table}.${col} + ${literal(value.by)}`;
      return `${col} = ${literal(toColumnValue(metadata, column, value))}`;
    });
  if (sets.length === 0) throw new Error(`${metadata.name}: an update needs at least one column to set`);
  const where = whereSql(metadata, criteria);
  const back = `${returning(metadata)}, to_jsonb(old) AS ${BEFORE_IMAGE}`;
  if (returnsOld)
    return { metadata, op: 'update', table: shapeOf(metadata), sql: `UPDATE ${table} SET ${sets.join(', ')} WHERE ${where} ${back}` };
  const keys = metadata.primaryColumns.map((c) => escapeIdentifier(c.databaseName));
  const sql =
    `WITH old AS (SELECT * FROM ${table} WHERE ${where} ORDER BY ${keys.join(', ')} FOR UPDATE) ` +
    `UPDATE ${table} SET ${sets.join(', ')} FROM old WHERE ${keys.map((k) => `${table}.${k} = old.${k}`).join(' AND ')} ${back}`;
  return { metadata, op: 'update', table: shapeOf(metadata), sql };
}

/** DELETE of the rows matching `criteria`, returning each row as it was. */
export function deleteStatement<E>(metadata: EntityMetadata, criteria: Criteria<E>): EntityStatement {
  return {
    metadata,
    op: 'delete',
    table: shapeOf(metadata),
    sql: `DELETE FROM ${name(metadata)} WHERE ${whereSql(metadata, criteria)} ${returning(metadata)}`,
  };
}

/** Reads the rows matching `criteria` and locks them FOR UPDATE, in key order (so concurrent writes lock alike). */
export function lockStatement<E>(metadata: EntityMetadata, criteria: Criteria<E>): EntityStatement {
  const table = name(metadata);
  const keys = metadata.primaryColumns.map((c) => `${table}.${escapeIdentifier(c.databaseName)}`);
  const cols = metadata.columns.map((c) => `${table}.${escapeIdentifier(c.databaseName)}`);
  return {
    metadata,
    op: 'lock',
    table: shapeOf(metadata),
    sql: `SELECT ${cols.join(', ')} FROM ${table} WHERE ${whereSql(metadata, criteria)} ORDER BY ${keys.join(', ')} FOR UPDATE`,
  };
}
