import type { GraphQLError } from 'graphql';
import type { DatabaseError } from 'pg';
import type { ObjectLiteral } from 'typeorm';
import type { Changes, Criteria, Values } from './entity-sql';

/** An entity class, as TypeORM knows it (decorated with @Entity). */
export type EntityClass<E extends ObjectLiteral> = new () => E;

/**
 * What a replicated write may do, in terms of entities. Every call is one statement on the
 * leader, inside the write's transaction; the rows it returns are entities, mapped as reads map
 * them. Calls made without awaiting the previous one may travel to the leader together.
 * A call that fails in the database fails the whole write: it is undone on its own, the rest of
 * its batch is not touched, and its error (mapped by `explain`, or by the layer's rules for
 * unique and foreign-key violations) is what the client gets.
 */
export interface WriteTx {
  /** Inserts one row; properties left out take the column's default (an identity key, say). */
  insert<E extends ObjectLiteral>(entity: EntityClass<E>, values: Values<E>): Promise<E>;
  /** Inserts every row in one statement, in the order given. */
  insertMany<E extends ObjectLiteral>(entity: EntityClass<E>, values: readonly Values<E>[]): Promise<E[]>;
  /** Updates the rows matching `where`; returns them as they are now (none when nothing matched). */
  update<E extends ObjectLiteral>(entity: EntityClass<E>, where: Criteria<E>, changes: Changes<E>): Promise<E[]>;
  /** Deletes the rows matching `where`; returns them as they were. */
  delete<E extends ObjectLiteral>(entity: EntityClass<E>, where: Criteria<E>): Promise<E[]>;
  /**
   * Inserts `values`, or, when a row with the same `conflict` properties (the primary key unless
   * given) exists, updates it with the other values; returns the row as it is now.
   */
  upsert<E extends ObjectLiteral>(entity: EntityClass<E>, values: Values<E>, conflict?: readonly (keyof E & string)[]): Promise<E>;
  /** Reads the rows matching `where` and locks them until the write commits, in key order. */
  lock<E extends ObjectLiteral>(entity: EntityClass<E>, where: Criteria<E>): Promise<E[]>;
}

/** Orders writes within a batch, so concurrent batches lock rows alike: a table and a key in it. */
export type LockKey = readonly [table: string, key: number | string];

/**
 * One replicated write, as domain code states it: `run` says what to change, through `tx`; it
 * may run more than once (a batch that has to start over runs it again), so it does nothing but
 * call `tx` and compute its result. Throwing a GraphQLError refuses the write, undoing whatever
 * it changed, and that error reaches the client.
 */
export interface Write<T> {
  run(tx: WriteTx): Promise<T>;
  /** Where in a batch this write goes: writes run in lock-key order (none: first, in arrival order). */
  lockKey?: LockKey;
  /** Maps a database error this write met to the error its client gets; undefined leaves it to the layer's rules. */
  explain?(error: DatabaseError): GraphQLError | undefined;
  /** For the log, when a write fails unexpectedly. */
  name: string;
}

/**
 * Sorts writes by lock key: table name, then key, numbers before strings (comparing a number
 * with a string by `<` is false both ways, which would leave the order to the sort's whim).
 */
export function compareLockKeys(a: LockKey | undefined, b: LockKey | undefined): number {
  if (a === undefined || b === undefined) return a === b ? 0 : a === undefined ? -1 : 1;
  if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
  const [x, y] = [a[1], b[1]];
  if (typeof x !== typeof y) return typeof x === 'number' ? -1 : 1;
  if (x === y) return 0;
  return x < y ? -1 : 1;
}
