import type { BenchOptions } from './args';
import { UPDATE, createRows, gql } from './gql';
import { runHttp } from './load';
import { randomId, randomSalary, type LoadResult } from './stats';
import { BENCH_ADMIN_TOKEN, type Topology } from './topology';

/** The table size issue 8 asks `consistency` to compare in well under a second. */
export const CONSISTENCY_ROWS = 100_000;
const CHECKS = 5;
const QUERY = '{ consistency { consistent checkedRows totalMs heldCommitsMs } }';

export interface ConsistencyResult {
  rows: number;
  /** Each check's total time and the time it held new commits back, ms, in run order. */
  checks: { totalMs: number; heldCommitsMs: number; consistent: boolean }[];
  /** The write load that ran meanwhile. */
  load: LoadResult;
}

/**
 * `consistency` on leader + 2 followers holding CONSISTENCY_ROWS employees, CHECKS times in a
 * row while updates go on at the highest client count: how long a check takes, and how long it
 * holds commits back at the membership gate (the one moment it touches the write path).
 */
export async function consistencyRun(t: Topology, o: BenchOptions, seededRows: number): Promise<ConsistencyResult> {
  for (let first = seededRows + 1; first <= CONSISTENCY_ROWS; first += 10_000) {
    await createRows(t.url, first, Math.min(10_000, CONSISTENCY_ROWS - first + 1));
  }
  const clients = o.clients[o.clients.length - 1];
  const body = () => JSON.stringify({ query: UPDATE, variables: { id: randomId(o.rows), salary: randomSalary() } });
  const loading = runHttp({ url: t.url, clients, seconds: Math.max(o.duration, 5), body });
  const checks: ConsistencyResult['checks'] = [];
  // Let the load reach its pace first; the checks then run back to back inside it.
  await new Promise((resolve) => setTimeout(resolve, 500));
  for (let i = 0; i < CHECKS; i++) {
    const { consistency } = await gql<{ consistency: ConsistencyResult['checks'][number] & { checkedRows: number } }>(
      t.url,
      QUERY,
      {},
      {
        authorization: `Bearer ${BENCH_ADMIN_TOKEN}`,
      },
    );
    checks.push({ totalMs: consistency.totalMs, heldCommitsMs: consistency.heldCommitsMs, consistent: consistency.consistent });
  }
  return { rows: CONSISTENCY_ROWS, checks, load: await loading };
}
