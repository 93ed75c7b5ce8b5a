import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';
import type { EntityMetadata } from 'typeorm/metadata/EntityMetadata';
import type { RowImage } from '../change';

/** A value the write API can send for a column: what `literal` inlines once converted. */
export type ColumnValue = string | number | bigint | boolean | null;

/**
 * The column behind an entity property, by TypeORM's metadata; an unknown property is a
 * programming error in the domain code, named with the entity so it is found at once.
 */
export function columnOf(metadata: EntityMetadata, property: string): ColumnMetadata {
  const column = metadata.findColumnWithPropertyName(property);
  if (!column) throw new Error(`${metadata.name} has no column property "${property}"`);
  return column;
}

/**
 * A property's value as the column stores it, converted by TypeORM's driver as its own
 * repositories do (transformers, dates, json), then narrowed to what can be inlined.
 */
export function toColumnValue(metadata: EntityMetadata, column: ColumnMetadata, value: unknown): ColumnValue {
  if (value === undefined || value === null) return null;
  const stored: unknown = metadata.connection.driver.preparePersistentValue(value, column);
  if (stored === null || stored === undefined) return null;
  if (stored instanceof Date) return stored.toISOString();
  switch (typeof stored) {
    case 'string':
    case 'number':
    case 'bigint':
    case 'boolean':
      return stored;
    case 'object':
      return JSON.stringify(stored);
    default:
      throw new Error(`${metadata.name}.${column.propertyName}: a ${typeof stored} cannot be written to a column`);
  }
}

/**
 * A row as PostgreSQL returned it (keyed by column name) turned into an entity, the way TypeORM
 * hydrates a read: every column property set through the driver's conversion, so a mutation's
 * payload and a query's result are the same object shape (`departmentId`, not `department_id`).
 */
export function toEntity<E>(metadata: EntityMetadata, raw: RowImage): E {
  const entity = metadata.create() as E & object;
  const { driver } = metadata.connection;
  for (const column of metadata.columns) {
    if (!(column.databaseName in raw)) continue;
    column.setEntityValue(entity, driver.prepareHydratedValue(raw[column.databaseName], column));
  }
  return entity;
}
