import { escapeIdentifier } from 'pg';
import type { DataSource } from 'typeorm';
import type { Statement } from '../sql/statement';

/** A replicated table as a node defines it: what apply, rebuild and the checksums rely on being the same everywhere. */
export interface TableSchema {
  table: string;
  /** In column order. */
  columns: { name: string; type: string; notNull: boolean }[];
  /** Primary key, unique, foreign-key and check constraints and unique indexes, as PostgreSQL prints them (names aside), sorted. */
  constraints: string[];
}

function tableSchemas(tables: readonly string[]): Statement<TableSchema> {
  return {
    text: `SELECT c.relname AS "table",
                  (SELECT coalesce(json_agg(json_build_object('name', a.attname, 'type', format_type(a.atttypid, a.atttypmod),
                                                              'notNull', a.attnotnull) ORDER BY a.attnum), '[]')
                     FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns,
                  (SELECT coalesce(json_agg(d ORDER BY d), '[]') FROM (
                     SELECT pg_get_constraintdef(k.oid) AS d FROM pg_constraint k
                      WHERE k.conrelid = c.oid AND k.contype IN ('p', 'u', 'f', 'c')
                     UNION ALL
                     -- A unique index not behind a constraint refuses rows as one does; printed without its name.
                     SELECT regexp_replace(pg_get_indexdef(i.indexrelid), '^CREATE UNIQUE INDEX \\S+ ON \\S+ ', 'UNIQUE INDEX ')
                       FROM pg_index i WHERE i.indrelid = c.oid AND i.indisunique
                        AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)) AS defs) AS constraints
             FROM pg_class c WHERE c.oid = ANY($1::regclass[]) ORDER BY 1`,
    values: [tables.map(escapeIdentifier)],
  };
}

/** The replicated tables (every entity) as `dataSource`'s node defines them; a table it lacks is left out. */
export async function schemaOf(dataSource: DataSource, tables: readonly string[]): Promise<TableSchema[]> {
  // Missing tables would make the regclass cast fail: ask only for those the node has.
  const present = await dataSource.query<{ t: string }[]>(
    'SELECT relname AS t FROM pg_class WHERE relname = ANY($1) AND relkind IN ($2, $3)',
    [tables, 'r', 'p'],
  );
  const statement = tableSchemas(present.map((p) => p.t));
  return dataSource.query<TableSchema[]>(statement.text, statement.values);
}

/**
 * How a node's tables differ from the leader's, naming the table and the column or constraint,
 * or undefined when they are the same: columns in order (name, type, nullability), keys, unique
 * constraints and indexes, foreign keys and check constraints.
 */
export function schemaDifference(
  tables: readonly string[],
  leader: readonly TableSchema[],
  node: readonly TableSchema[],
): string | undefined {
  const differences: string[] = [];
  for (const table of tables) {
    const want = leader.find((t) => t.table === table);
    const have = node.find((t) => t.table === table);
    if (!want || !have) {
      if (want !== have) differences.push(`table ${table}: ${want ? 'missing here' : 'missing on the leader'}`);
      continue;
    }
    const count = Math.max(want.columns.length, have.columns.length);
    for (let i = 0; i < count; i++) {
      const [w, h] = [want.columns[i], have.columns[i]];
      if (!w) differences.push(`table ${table}, column ${h.name} (number ${i + 1}): here only`);
      else if (!h) differences.push(`table ${table}, column ${w.name} (number ${i + 1}): missing here`);
      else if (w.name !== h.name) differences.push(`table ${table}, column number ${i + 1}: ${h.name} here, ${w.name} on the leader`);
      else if (w.type !== h.type) differences.push(`table ${table}, column ${w.name}: ${h.type} here, ${w.type} on the leader`);
      else if (w.notNull !== h.notNull)
        differences.push(`table ${table}, column ${w.name}: ${h.notNull ? 'NOT NULL' : 'nullable'} here, not on the leader`);
    }
    for (const constraint of want.constraints.filter((c) => !have.constraints.includes(c)))
      differences.push(`table ${table}: ${constraint} missing here`);
    for (const constraint of have.constraints.filter((c) => !want.constraints.includes(c)))
      differences.push(`table ${table}: ${constraint} here only`);
  }
  return differences.length > 0 ? differences.join('; ') : undefined;
}

/** A follower refused because its replicated tables are not defined as the leader's; the message names what differs. */
export class SchemaMismatch extends Error {}

/** How `node`'s replicated tables differ from the leader's (see schemaDifference), or undefined. */
export async function schemaDifferenceOf(leader: DataSource, node: DataSource): Promise<string | undefined> {
  const tables = leader.entityMetadatas.map((m) => m.tableName);
  const [want, have] = await Promise.all([schemaOf(leader, tables), schemaOf(node, tables)]);
  return schemaDifference(tables, want, have);
}
