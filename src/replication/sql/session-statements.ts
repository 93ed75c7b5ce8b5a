import type { ClientBase } from 'pg';
import type { TableShape } from '../change';

/**
 * A statement PREPAREd by name (SQL-level PREPARE) on each connection that runs it. Followers
 * run the same few apply statements for every write, and planning them afresh each time cost
 * more than running them; EXECUTE keeps the write in the one simple-protocol round trip.
 */
export interface SessionStatement {
  name: string;
  /** What follows `PREPARE name`: `(param types) AS statement`. */
  definition: string;
}

/** Names PREPAREd on each live connection; a new connection starts with none. */
const preparedOn = new WeakMap<ClientBase, Set<string>>();

/** PREPAREs, outside any transaction, whichever of `statements` this connection has not got yet. */
export async function ensurePrepared(client: ClientBase, statements: Iterable<SessionStatement>): Promise<void> {
  let prepared = preparedOn.get(client);
  if (!prepared) {
    prepared = new Set();
    preparedOn.set(client, prepared);
  }
  for (const { name, definition } of statements) {
    if (prepared.has(name)) continue;
    await client.query(`PREPARE ${name} ${definition}`);
    prepared.add(name);
  }
}

/**
 * Memoizes, per table shape, what `build` makes of it, named `${prefix}_${n}` (unique per
 * process): statements are built once per shape, never once per change. Only the shape is the
 * key: a change also carries its rows, which must not become part of it.
 */
export function perShape<T>(prefix: string, build: (shape: TableShape, name: string) => T): (shape: TableShape) => T {
  const built = new Map<string, T>();
  return (shape) => {
    const key = JSON.stringify([shape.table, shape.key, shape.columns, shape.sequences ?? []]);
    let found = built.get(key);
    if (found === undefined) {
      found = build(shape, `${prefix}_${built.size + 1}`);
      built.set(key, found);
    }
    return found;
  };
}
