import { escapeIdentifier } from 'pg';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';
import type { EntityMetadata } from 'typeorm/metadata/EntityMetadata';
import { reachedSql } from '../sql/log-statements';

/**
 * A read as a named prepared statement: PostgreSQL parses and plans it once per connection, and
 * pg sends parse, bind and execute of a new one (bind and execute of a known one) in one message.
 */
export interface ReadStatement {
  name: string;
  text: string;
  values: unknown[];
}

/** The column a read at a position adds to its rows: whether the node had committed the position. */
export const REACHED = 'syncrep_reached';

/** What every read of one table shares, built once from the entity's metadata. */
interface TableReads {
  /**
   * The statements' name prefix, one per table (`syncrep_r3`): short, since PostgreSQL cuts a
   * statement name at 63 bytes and two names cut alike would clash on one connection.
   */
  id: string;
  select: string;
  key: string;
  byKeys: string;
  pageFirst: string;
  pageAfter: string;
  byColumn: Map<string, string>;
}

/**
 * The read statements of every entity, by key, by page and by a column, their text built from
 * TypeORM's metadata once per entity and kept by this object (its owner's lifetime, not the
 * module's): one object per server, whose pools alone run its names. Only single-column keys are read this way; a read by a composite key is refused as
 * the programming error it is.
 */
export class ReadStatements {
  private readonly tables = new Map<unknown, TableReads>();

  /** Rows whose key is one of `keys`, in key order. */
  byKeys(metadata: EntityMetadata, keys: readonly unknown[]): ReadStatement {
    const t = this.of(metadata);
    return { name: `${t.id}:keys`, text: t.byKeys, values: [keys] };
  }

  /** Up to `first` rows in key order, after key `after` when given. */
  page(metadata: EntityMetadata, after: unknown, first: number): ReadStatement {
    const t = this.of(metadata);
    return after == null
      ? { name: `${t.id}:page`, text: t.pageFirst, values: [first] }
      : { name: `${t.id}:page-after`, text: t.pageAfter, values: [after, first] };
  }

  /** Rows whose `column` holds one of `values`, in key order. */
  byColumn(metadata: EntityMetadata, column: ColumnMetadata, values: readonly unknown[]): ReadStatement {
    const t = this.of(metadata);
    let text = t.byColumn.get(column.databaseName);
    if (text === undefined) {
      text = `${t.select} WHERE ${escapeIdentifier(column.databaseName)} = ANY($1) ORDER BY ${t.key}`;
      t.byColumn.set(column.databaseName, text);
    }
    return { name: `${t.id}:by${metadata.columns.indexOf(column)}`, text, values: [values] };
  }

  /**
   * `read` carrying the check that this node has committed `position`, in one statement (one
   * snapshot, one round trip): every row gains REACHED; when it is false the read's rows are left
   * out, and when the read finds nothing one row of nulls carries it.
   */
  atPosition(metadata: EntityMetadata, read: ReadStatement, position: bigint): ReadStatement {
    const { key } = this.of(metadata);
    const param = `$${read.values.length + 1}`;
    const text =
      `WITH syncrep_check AS (SELECT ${reachedSql(param)} AS reached) ` +
      `SELECT syncrep_check.reached AS ${REACHED}, r.* FROM syncrep_check ` +
      `LEFT JOIN LATERAL (${read.text}) r ON syncrep_check.reached ORDER BY r.${key}`;
    return { name: `${read.name}:at`, text, values: [...read.values, position.toString()] };
  }

  /** The key column of `metadata`'s table: what tells a row from the null row of an empty read. */
  keyOf(metadata: EntityMetadata): ColumnMetadata {
    const [key, ...more] = metadata.primaryColumns;
    if (!key || more.length > 0) throw new Error(`${metadata.name}: reads by key need a single-column primary key`);
    return key;
  }

  private of(metadata: EntityMetadata): TableReads {
    const known = this.tables.get(metadata.target);
    if (known) return known;
    const key = escapeIdentifier(this.keyOf(metadata).databaseName);
    const table = escapeIdentifier(metadata.tableName);
    const from = metadata.schema ? `${escapeIdentifier(metadata.schema)}.${table}` : table;
    const select = `SELECT ${metadata.columns.map((c) => escapeIdentifier(c.databaseName)).join(', ')} FROM ${from}`;
    const reads: TableReads = {
      id: `syncrep_r${this.tables.size}`,
      select,
      key,
      byKeys: `${select} WHERE ${key} = ANY($1) ORDER BY ${key}`,
      pageFirst: `${select} ORDER BY ${key} LIMIT $1`,
      pageAfter: `${select} WHERE ${key} > $1 ORDER BY ${key} LIMIT $2`,
      byColumn: new Map(),
    };
    this.tables.set(metadata.target, reads);
    return reads;
  }
}
