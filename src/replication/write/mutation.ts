import type { GraphQLError } from 'graphql';
import type { DatabaseError } from 'pg';
import { escapeIdentifier } from 'pg';
import type { DataSource, EntityTarget, ObjectLiteral } from 'typeorm';
import type { Change, ChangeOp, RowImage, TableShape } from '../change';

/** The column an update statement returns, beside the new row, holding the row as it was (jsonb). */
export const BEFORE_IMAGE = 'syncrep_before';

/** A table as mutation builders write to it on this leader. */
export interface WriteTarget {
  table: TableShape;
  /**
   * An UPDATE of the rows matching `where` (columns qualified with the table name) that also
   * returns each row's prior image as BEFORE_IMAGE, for followers to check theirs against.
   */
  update(where: string, sets: string): string;
}

/**
 * PostgreSQL 18 returns the prior row itself (`RETURNING old`); before it, the rows are locked
 * first, in key order, so the image read is the one the update replaces.
 */
export function writeTarget(table: TableShape, leaderReturnsOld: boolean): WriteTarget {
  const name = escapeIdentifier(table.table);
  const keys = table.key.map(escapeIdentifier);
  const returning = `RETURNING ${name}.*, to_jsonb(old) AS ${BEFORE_IMAGE}`;
  return {
    table,
    update: (where, sets) =>
      leaderReturnsOld
        ? `UPDATE ${name} SET ${sets} WHERE ${where} ${returning}`
        : `WITH old AS (SELECT * FROM ${name} WHERE ${where} ORDER BY ${keys.join(', ')} FOR UPDATE) ` +
          `UPDATE ${name} SET ${sets} FROM old WHERE ${keys.map((k) => `${name}.${k} = old.${k}`).join(' AND ')} ${returning}`,
  };
}

/** Splits the leader's RETURNING rows into the mutation's rows and the change followers will apply. */
export function toChange(mutation: Pick<Mutation<unknown>, 'table' | 'op'>, returned: RowImage[]): { rows: RowImage[]; change: Change } {
  if (mutation.op !== 'update') return { rows: returned, change: { ...mutation.table, op: mutation.op, rows: returned } };
  const rows = returned.map(({ [BEFORE_IMAGE]: _before, ...row }) => row);
  const before = returned.map((row) => row[BEFORE_IMAGE] as RowImage);
  return { rows, change: { ...mutation.table, op: 'update', rows, before } };
}

/**
 * One client mutation, as the write path runs it on the leader. The write path knows nothing of
 * employees: it runs `sql`, ships the returned rows to followers, and lets `interpret` decide.
 */
export interface Mutation<T> {
  table: TableShape;
  op: ChangeOp;
  /**
   * One statement with inlined literals (see `literal`) returning the changed rows; an update
   * also returns each row's prior image as BEFORE_IMAGE.
   */
  sql: string;
  /**
   * The smallest primary key the statement locks. Mutations in one batch run in key order, so
   * concurrent batches take their row locks in the same order and rarely deadlock.
   */
  lockKey: number;
  /** Turns the leader's rows into the result; throwing a GraphQLError undoes this mutation alone. */
  interpret(rows: RowImage[]): T;
  /** Maps a database error raised by `sql` to an expected error (a unique violation, say). */
  explain?(error: DatabaseError): GraphQLError | undefined;
}

/** Reads an entity's table shape from TypeORM's metadata, so no column list is written twice. */
export function tableShape(dataSource: DataSource, entity: EntityTarget<ObjectLiteral>): TableShape {
  const metadata = dataSource.getMetadata(entity);
  return {
    table: metadata.tableName,
    key: metadata.primaryColumns.map((column) => column.databaseName),
    columns: metadata.columns.map((column) => column.databaseName),
  };
}
