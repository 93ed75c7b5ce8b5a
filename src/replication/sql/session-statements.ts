import type { ClientBase } from 'pg';

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

/** Where a connection keeps the names PREPAREd on it: they live and die with its session. */
const PREPARED = Symbol('syncrep.prepared');

/** A connection, with the names of the statements PREPAREd on it so far (none on a new one). */
type Tracked = ClientBase & { [PREPARED]?: Set<string> };

/** PREPAREs, outside any transaction, whichever of `statements` this connection has not got yet. */
export async function ensurePrepared(client: ClientBase, statements: Iterable<SessionStatement>): Promise<void> {
  const tracked = client as Tracked;
  const prepared = (tracked[PREPARED] ??= new Set());
  for (const { name, definition } of statements) {
    if (prepared.has(name)) continue;
    await client.query(`PREPARE ${name} ${definition}`);
    prepared.add(name);
  }
}
