import type { GraphQLError } from 'graphql';
import type { DatabaseError } from 'pg';
import type { DataSource, EntityTarget, ObjectLiteral } from 'typeorm';

/** One row as the leader returned it, keyed by column name. */
export type RowImage = Record<string, unknown>;

export type ChangeOp = 'insert' | 'update' | 'delete';

/** Table name, primary key and columns: what a follower needs to apply row images by key. */
export interface TableShape {
  table: string;
  key: string[];
  columns: string[];
}

/** Row images of one statement run on the leader; followers apply exactly these. */
export interface Change extends TableShape {
  op: ChangeOp;
  rows: RowImage[];
}

/**
 * One client mutation, as the write path runs it on the leader. The write path knows nothing of
 * employees: it runs `sql`, ships the returned rows to followers, and lets `interpret` decide.
 */
export interface Mutation<T> {
  table: TableShape;
  op: ChangeOp;
  /** One statement with inlined literals (see `literal`) ending in `RETURNING *`. */
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
