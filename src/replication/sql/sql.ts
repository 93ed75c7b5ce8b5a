import { DatabaseError, escapeLiteral, type ClientBase, type Pool, type PoolClient, type QueryResult } from 'pg';
import { SqlState } from '../../errors/sqlstate';
import type { Statement } from './statement';

/** Quotes any value for inlining into a simple-protocol statement (several statements, one round trip). */
export function literal(value: string | number | bigint | boolean | null): string {
  if (value === null) return 'NULL';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`cannot inline ${value}`);
    return String(value);
  }
  if (typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  return escapeLiteral(value);
}

/**
 * Dollar-quotes a long text (row images as JSON) for a simple-protocol statement: unlike
 * escapeLiteral it does not walk the text character by character, only checks the tag is unused.
 */
export function dollarQuote(text: string): string {
  let tag = 'j';
  while (text.includes(`$${tag}$`)) tag += 'j';
  return `$${tag}$${text}$${tag}$`;
}

/**
 * True for an error the server sent about a statement: the connection is still usable after
 * ROLLBACK. A FATAL one (the session terminated, the server shutting down) is not: the connection
 * is gone, and a COMMIT sent before it may or may not have taken effect, as for a lost connection.
 */
export function isServerError(error: unknown): error is DatabaseError {
  return error instanceof DatabaseError && error.severity !== 'FATAL' && error.severity !== 'PANIC';
}

/**
 * A named prepared statement whose columns' types changed since it was prepared (an online
 * migration). PostgreSQL refuses it on that connection from then on; pg-pool's `query` closes
 * such a connection itself (it closes any that failed), withClient closes it too.
 */
export function isPlanChanged(error: unknown): boolean {
  return (
    isServerError(error) && error.code === SqlState.FeatureNotSupported && /cached plan must not change result type/.test(error.message)
  );
}

/**
 * Runs `work` on one pooled connection. A connection that failed for any reason other than an
 * error from the server (timeout, reset) is destroyed, never handed back to the pool half-used.
 */
export function withClient<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  return leased(pool, (client) => work(client));
}

/**
 * withClient for a transaction begun inside `work` (its BEGIN and end may travel in `work`'s own
 * messages, one round trip): a server error rolls it back before it is rethrown, so the
 * connection goes back clean. The statement's own error is the one reported; a ROLLBACK that
 * fails as well only means the connection cannot be trusted, so it is destroyed.
 */
export function withRollback<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  return leased(pool, async (client, spoil) => {
    try {
      return await work(client);
    } catch (error) {
      if (isServerError(error)) await client.query('ROLLBACK').catch(() => spoil(new Error('ROLLBACK failed')));
      throw error;
    }
  });
}

/** One pooled connection for `work`, which may `spoil` it: it is then destroyed on release, never reused. */
async function leased<T>(pool: Pool, work: (client: PoolClient, spoil: (why: Error) => void) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const spoil = (why: Error) => void (broken ??= why);
  // A node that dies while we hold the connection emits 'error' on it; without a listener that
  // would crash the process. The failing query reports it; this only marks the connection broken.
  client.on('error', spoil);
  try {
    return await work(client, spoil);
  } catch (error) {
    if (!isServerError(error)) spoil(error instanceof Error ? error : new Error(String(error)));
    // Its prepared statements describe columns that no longer are: it could never run them again.
    else if (isPlanChanged(error)) spoil(error);
    throw error;
  } finally {
    client.off('error', spoil);
    client.release(broken);
  }
}

/**
 * True when pg-pool gave up waiting for a connection to come free (`connectionTimeoutMillis`) while
 * every one was in use; a new connection that does not connect in time fails otherwise. pg-pool
 * marks it by its message only; a test (unit/pool-timeout.test.ts) holds this to the pg-pool installed.
 */
export function isPoolTimeout(error: unknown): boolean {
  return error instanceof Error && !(error instanceof DatabaseError) && error.message === 'timeout exceeded when trying to connect';
}

/** Runs several `;`-separated statements in one round trip and returns each one's result. */
export async function multi(client: PoolClient, sql: string): Promise<QueryResult[]> {
  const result = (await client.query(sql)) as unknown as QueryResult | QueryResult[];
  return Array.isArray(result) ? result : [result];
}

/**
 * What a client may be told of a database failure. The server's own words can name users, hosts
 * and rows, so they go to operators only (`lastError`, the log); a client gets their kind.
 */
export function publicFailure(error: unknown): string {
  if (error instanceof DatabaseError && !isServerError(error)) return 'connection failed';
  if (!isServerError(error)) return describeFailure(error);
  if (error.code === SqlState.Diverged) return "diverged: its rows are not what the leader's were";
  if (error.code === SqlState.StaleEpoch) return 'it follows another epoch or leader (a promotion fenced it)';
  return `refused it (SQLSTATE ${error.code})`;
}

/** A short description of a database failure for operators (no SQL, no password; a server's own message as it is). */
export function describeFailure(error: unknown): string {
  if (error instanceof DatabaseError) return error.message;
  const message = error instanceof Error ? error.message : String(error);
  if (/timeout/i.test(message)) return 'timed out';
  if (/ECONNREFUSED|connect|terminat|closed|ended|ECONNRESET|EPIPE/i.test(message)) return 'connection failed';
  return 'unexpected driver error';
}

/** Something that runs a statement: a pool (one pooled connection, see withClient) or a connection. */
export type Runner = Pool | ClientBase;

/** Runs a named statement (statement.ts) and returns its rows, typed. */
export async function rows<Row>(runner: Runner, statement: Statement<Row>): Promise<Row[]> {
  const run = (client: ClientBase) => client.query(statement.text, statement.values);
  const result = isPool(runner) ? await withClient(runner, run) : await run(runner);
  return result.rows as Row[];
}

/** The first row of a statement that returns exactly one. */
export async function row<Row>(runner: Runner, statement: Statement<Row>): Promise<Row> {
  const [first] = await rows(runner, statement);
  if (!first) throw new Error(`expected a row from: ${statement.text.slice(0, 60)}`);
  return first;
}

/**
 * BEGIN (or `begin`, e.g. an isolation level), `body`, COMMIT, on one pooled connection. On a
 * server error the transaction is rolled back before the connection goes back to the pool; on
 * any other failure (timeout, reset) the connection is destroyed (withClient), never reused.
 */
export function inTransaction<T>(pool: Pool, body: (client: PoolClient) => Promise<T>, begin = 'BEGIN'): Promise<T> {
  return withRollback(pool, async (client) => {
    await client.query(begin);
    const result = await body(client);
    await client.query('COMMIT');
    return result;
  });
}

function isPool(runner: Runner): runner is Pool {
  return typeof (runner as Pool).totalCount === 'number';
}
