import { Pool } from 'pg';
import { Latencies, randomId, randomSalary, type LoadResult } from './stats';

const UPDATE_SQL = 'UPDATE emp SET salary = $1 WHERE id = $2';

/**
 * The same update as the GraphQL benchmark, sent with `pg` straight to one node: no HTTP, no
 * GraphQL, no replication. `clients` workers share a pool of as many connections, each sending
 * its next statement as soon as the previous returned: an untimed warm-up, then `seconds` measured.
 */
export async function runPgUpdates(
  url: string,
  rows: number,
  clients: number,
  seconds: number,
  warmupSeconds: number,
): Promise<LoadResult> {
  const pool = new Pool({ connectionString: url, max: clients });
  try {
    // Open every connection before the clock starts.
    await Promise.all(Array.from({ length: clients }, () => pool.query('SELECT 1')));
    if (warmupSeconds > 0) await measure(pool, rows, clients, warmupSeconds);
    return await measure(pool, rows, clients, seconds);
  } finally {
    await pool.end();
  }
}

async function measure(pool: Pool, rows: number, clients: number, seconds: number): Promise<LoadResult> {
  const latencies = new Latencies();
  let errors = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const sent = performance.now();
      try {
        await pool.query(UPDATE_SQL, [randomSalary(), randomId(rows)]);
        latencies.add(performance.now() - sent);
      } catch (error) {
        errors += 1;
        firstError ??= String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, worker));
  const elapsed = (performance.now() - started) / 1000;
  return {
    clients,
    seconds: elapsed,
    requests: latencies.count,
    reqPerSec: latencies.count / elapsed,
    ...latencies.summary(),
    errors,
    firstError,
  };
}
