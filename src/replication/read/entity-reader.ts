import type { DataSource, EntityTarget, ObjectLiteral } from 'typeorm';
import type { EntityMetadata } from 'typeorm/metadata/EntityMetadata';
import type { RowImage } from '../change';
import { columnOf, toColumnValue, toEntity } from '../entities/entity-rows';
import type { KeyReadBatcher } from './key-read-batcher';
import type { ReadStatement, ReadStatements } from './read-statements';

/** Runs one read statement on the node the read was given (its pool, or its transaction's connection) and returns its rows. */
export type RunRead = (metadata: EntityMetadata, statement: ReadStatement) => Promise<RowImage[]>;

/**
 * What a read's work reads through: entities by key, by page, or by a column, on the one node
 * (and, for a snapshot read, the one transaction) the replication service chose. Statements are
 * prepared from the entity metadata (read-statements.ts) and rows are mapped to entities as the
 * write API maps the rows a mutation returns (`toEntity`): no query builder on the way.
 */
export class EntityReader {
  constructor(
    private readonly dataSource: DataSource,
    private readonly statements: ReadStatements,
    private readonly run: RunRead,
    /** For a plain read: reads of one row by key go through it, grouped with other requests' (key-read-batcher.ts). */
    private readonly keyReads?: KeyReadBatcher,
  ) {}

  /** The entity with key `key`, or null. */
  async byKey<E extends ObjectLiteral>(entity: EntityTarget<E>, key: unknown): Promise<E | null> {
    const [found] = await this.byKeys(entity, [key]);
    return found ?? null;
  }

  /** The entities whose key is one of `keys`, in key order (no query for none). */
  async byKeys<E extends ObjectLiteral>(entity: EntityTarget<E>, keys: readonly unknown[]): Promise<E[]> {
    const metadata = this.dataSource.getMetadata(entity);
    if (keys.length === 0) return [];
    const key = this.statements.keyOf(metadata);
    const values = keys.map((k) => toColumnValue(metadata, key, k));
    if (this.keyReads && values.length === 1 && this.keyReads.batches(metadata, values[0])) {
      const found = await this.keyReads.load(metadata, values[0]);
      return found ? [toEntity<E>(metadata, found)] : [];
    }
    return this.entities<E>(metadata, this.statements.byKeys(metadata, values));
  }

  /** Up to `first` entities in key order, after key `after` when given (a page). */
  page<E extends ObjectLiteral>(entity: EntityTarget<E>, after: unknown, first: number): Promise<E[]> {
    const metadata = this.dataSource.getMetadata(entity);
    const from = after == null ? null : toColumnValue(metadata, this.statements.keyOf(metadata), after);
    return this.entities<E>(metadata, this.statements.page(metadata, from, first));
  }

  /** The entities whose `property` holds one of `values`, in key order (no query for none). */
  async where<E extends ObjectLiteral>(entity: EntityTarget<E>, property: keyof E & string, values: readonly unknown[]): Promise<E[]> {
    const metadata = this.dataSource.getMetadata(entity);
    if (values.length === 0) return [];
    const column = columnOf(metadata, property);
    const stored = values.map((v) => toColumnValue(metadata, column, v));
    return this.entities<E>(metadata, this.statements.byColumn(metadata, column, stored));
  }

  private async entities<E>(metadata: EntityMetadata, statement: ReadStatement): Promise<E[]> {
    const rows = await this.run(metadata, statement);
    return rows.map((raw) => toEntity<E>(metadata, raw));
  }
}
