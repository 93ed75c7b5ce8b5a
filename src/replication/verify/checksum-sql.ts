import { escapeIdentifier, type ClientBase } from 'pg';
import type { ChunkSums, RowHashes } from './chunk-diff';

/**
 * A table as the consistency check reads it. A single integer primary key is chunked by key range
 * (the key shifted right by CHUNK_BITS, so a chunk is an index range and drilling into it reads
 * at most 1,024 rows); any other key by a hash bucket of the key.
 */
export interface CheckedTable {
  table: string;
  /** Primary key columns; empty for a table without one (then the whole row is its key). */
  keys: string[];
  /** True for a single smallint/integer/bigint key: differing rows are reported as ids. */
  integer: boolean;
}

/** log2 of the keys per range chunk: a shift rounds down for negative keys too, unlike `/ 1000`. */
const CHUNK_BITS = 10;
/** Hash buckets of a table without a single integer key. */
const BUCKETS = 256;

/** Reads each table's primary key from the catalog (on the leader): generic, not tied to one entity. */
export async function describeTables(client: ClientBase, tables: readonly string[]): Promise<CheckedTable[]> {
  const { rows } = await client.query<{ table: string; keys: string[] | null; integer: boolean | null }>(
    `SELECT t.name AS table,
            array_agg(a.attname::text ORDER BY k.ord) FILTER (WHERE a.attname IS NOT NULL) AS keys,
            bool_and(a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype)) AS integer
       FROM unnest($1::text[]) WITH ORDINALITY AS t(name, n)
       LEFT JOIN pg_index i ON i.indrelid = to_regclass(quote_ident(t.name)) AND i.indisprimary
       LEFT JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) ON true
       LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
      GROUP BY t.name, t.n ORDER BY t.n`,
    [tables],
  );
  return rows.map((r) => {
    const keys = r.keys ?? [];
    return { table: r.table, keys, integer: keys.length === 1 && r.integer === true };
  });
}

/** The key of a row as text: the id itself for integer keys, a row literal otherwise. */
function keyText({ keys }: CheckedTable): string {
  if (keys.length === 0) return 't::text';
  if (keys.length === 1) return `t.${escapeIdentifier(keys[0])}::text`;
  return `ROW(${keys.map((k) => `t.${escapeIdentifier(k)}`).join(', ')})::text`;
}

function chunkOf(table: CheckedTable): string {
  if (table.integer) return `(t.${escapeIdentifier(table.keys[0])} >> ${CHUNK_BITS})::bigint`;
  return `(hashtext(${keyText(table)}) & ${BUCKETS - 1})::bigint`;
}

/**
 * Count and sum of row hashes per chunk, in one scan. `hashtext(t::text)` hashes the whole row as
 * PostgreSQL prints it, which is cheap and the same on every node of the same schema.
 */
export async function chunkSums(client: ClientBase, table: CheckedTable): Promise<{ sums: ChunkSums; rows: number }> {
  const chunk = chunkOf(table);
  const { rows } = await client.query<{ c: string; n: string; h: string }>(
    `SELECT ${chunk}::text AS c, count(*)::text AS n, sum(hashtext(t::text))::text AS h
       FROM ${escapeIdentifier(table.table)} t GROUP BY ${chunk}`,
  );
  const sums: ChunkSums = new Map();
  let total = 0;
  for (const r of rows) {
    sums.set(r.c, `${r.n}:${r.h}`);
    total += Number(r.n);
  }
  return { sums, rows: total };
}

/** Key and hash of every row in the given chunks. */
export function rowsInChunks(client: ClientBase, table: CheckedTable, chunks: readonly string[]): Promise<RowHashes> {
  return rowHashes(client, table, `${chunkOf(table)} = ANY($1::bigint[])`, chunks);
}

/** Key and hash of the rows with the given keys (as `rowsInChunks` wrote them). */
export function rowsWithKeys(client: ClientBase, table: CheckedTable, keys: readonly string[]): Promise<RowHashes> {
  const where = table.integer ? `t.${escapeIdentifier(table.keys[0])} = ANY($1::bigint[])` : `${keyText(table)} = ANY($1::text[])`;
  return rowHashes(client, table, where, keys);
}

async function rowHashes(client: ClientBase, table: CheckedTable, where: string, values: readonly string[]): Promise<RowHashes> {
  const hashes: RowHashes = new Map();
  if (values.length === 0) return hashes;
  const { rows } = await client.query<{ k: string; h: number }>(
    `SELECT ${keyText(table)} AS k, hashtext(t::text) AS h FROM ${escapeIdentifier(table.table)} t WHERE ${where}`,
    [values],
  );
  for (const r of rows) hashes.set(r.k, r.h);
  return hashes;
}
