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
