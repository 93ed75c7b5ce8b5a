import type { BenchOptions } from './args';
import {
  READ_AT,
  READ_DEFAULT,
  READ_LEADER,
  READ_NESTED,
  READ_PAGE,
  UPDATE,
  WITH_EMPLOYEES,
  createRows,
  gql,
  nodeStates,
  waitForState,
} from './gql';
import { runHttp, warmAndRun } from './load';
import { runPgUpdates } from './pg-load';
import { RssSampler } from './rss-sampler';
import { randomId, randomSalary, type LoadResult } from './stats';
import type { Topology } from './topology';

const BULK_ROWS = 10_000;

export interface CatchUpResult {
  /** Writes acknowledged while the follower was down. */
  missedWrites: number;
  /** Log positions it lacked (group commit puts several writes in one position). */
  missedPositions: number | null;
  writeSeconds: number;
  /** From the follower's postmaster being ready until `nodes` shows it IN_SYNC (or the timeout). */
  seconds: number;
  /** Missed writes / seconds; NaN when it did not finish. */
  perSec: number;
  finished: boolean;
  /** The follower's state and lag when the wait ended. */
  endState: string;
  endLagPositions: number | null;
  load: LoadResult;
}

export interface SoakResult {
  load: LoadResult;
  /** Highest RSS sampled in the first half of the run, and in the second half. */
  startRss: number;
  endRss: number;
}

const updateBody = (rows: number) => () => JSON.stringify({ query: UPDATE, variables: { id: randomId(rows), salary: randomSalary() } });
const readBody = (query: string, rows: number) => () => JSON.stringify({ query, variables: { id: randomId(rows) } });

/**
 * updateEmployee of random ids on every topology, per client count: `o.repeat` rounds, each
 * running every topology once in turn, reporting per topology the run with the median throughput.
 * Interleaving spreads the drift of a shared machine (one run can be 15% off its neighbours) over
 * all topologies alike, so that their ratios hold even when the absolute figures move. A topology
 * whose run fails is reported in `failed` and left out of the later rounds; its earlier runs stay.
 */
export async function writeRuns(
  topologies: Topology[],
  o: BenchOptions,
  progress: (message: string) => void,
): Promise<{ results: Record<string, Record<number, LoadResult>>; failed: string[] }> {
  const runs = new Map<Topology, Record<number, LoadResult[]>>(topologies.map((t) => [t, {}]));
  const failed: string[] = [];
  const stopped = new Set<Topology>();
  for (const clients of o.clients) {
    for (let i = 0; i < o.repeat; i++) {
      for (const [t, byClients] of runs) {
        if (stopped.has(t)) continue;
        try {
          const load = { url: t.url, clients, seconds: o.duration, body: updateBody(o.rows), server: t.server };
          (byClients[clients] ??= []).push(await warmAndRun(load, i === 0 ? o.warmup : 0));
        } catch (error) {
          failed.push(`${t.spec.label}: updateEmployee with ${clients} clients: ${error instanceof Error ? error.message : String(error)}`);
          stopped.add(t);
        }
      }
      const going = [...runs.keys()].filter((t) => !stopped.has(t));
      progress(`updateEmployee, ${clients} client(s), round ${i + 1} of ${o.repeat}: ${going.map((t) => t.spec.key).join(', ')}`);
    }
  }
  const results: Record<string, Record<number, LoadResult>> = {};
  for (const [t, byClients] of runs) {
    results[t.spec.key] = Object.fromEntries(
      Object.entries(byClients).map(([clients, list]) => [
        clients,
        list.sort((a, b) => a.reqPerSec - b.reqPerSec)[Math.floor(list.length / 2)],
      ]),
    );
  }
  return { results, failed };
}

/** The same update through `pg` on the leader node only, once per client count. */
export async function pgRuns(t: Topology, o: BenchOptions): Promise<Record<number, LoadResult>> {
  const out: Record<number, LoadResult> = {};
  for (const clients of o.clients) out[clients] = await runPgUpdates(t.nodes.node('leader').url, o.rows, clients, o.duration, o.warmup);
  return out;
}

export interface ReadResults {
  leader: LoadResult;
  followers: LoadResult;
  page: LoadResult;
  /** employee(id) with `atLeast` the position of a write made just before. */
  atLeast: LoadResult;
  /** department(id) with its 5 employees: two statements in one snapshot. */
  nested: LoadResult;
}

/** Where the department the nested reads read keeps its employees: below createDepartmentWithEmployees' own. */
const NESTED_STAFF_FROM = 90_000_000;

/**
 * employee(id) from the leader, from followers (default routing), employees(first: 100),
 * employee(id) at a position, and a department with its employees, each with the server's CPU.
 */
export async function readRuns(t: Topology, o: BenchOptions): Promise<ReadResults> {
  const run = (body: () => string) =>
    warmAndRun({ url: t.url, clients: o.readClients, seconds: o.duration, body, server: t.server }, o.warmup);
  const { position } = (await gql<{ updateEmployee: { position: string } }>(t.url, UPDATE, { id: 1, salary: 1 })).updateEmployee;
  const employees = Array.from({ length: 5 }, (_, i) => ({ id: NESTED_STAFF_FROM + i, name: `N${i}`, salary: 1000 }));
  const { department } = (
    await gql<{ createDepartmentWithEmployees: { department: { id: number } } }>(t.url, WITH_EMPLOYEES, {
      input: { name: 'Bench nested department', employees },
    })
  ).createDepartmentWithEmployees;
  return {
    leader: await run(readBody(READ_LEADER, o.rows)),
    followers: await run(readBody(READ_DEFAULT, o.rows)),
    page: await run(() => JSON.stringify({ query: READ_PAGE })),
    atLeast: await run(() => JSON.stringify({ query: READ_AT, variables: { id: randomId(o.rows), at: position } })),
    nested: await run(() => JSON.stringify({ query: READ_NESTED, variables: { id: department.id } })),
  };
}

/** Where the employees of createDepartmentWithEmployees start: past the seeded and the bulk rows. */
const DEPARTMENT_STAFF_FROM = 100_000_000;

/**
 * createDepartmentWithEmployees (one department, 5 employees: two tables, two rounds, one atomic
 * write), each with a new name and new ids, at 1 client and at the highest client count.
 */
export async function departmentRuns(t: Topology, o: BenchOptions): Promise<Record<number, LoadResult>> {
  let n = 0;
  const body = () => {
    const k = n++;
    const employees = Array.from({ length: 5 }, (_, i) => ({ id: DEPARTMENT_STAFF_FROM + k * 5 + i, name: `S${k}-${i}`, salary: 1000 }));
    return JSON.stringify({ query: WITH_EMPLOYEES, variables: { input: { name: `Bench department ${k}`, employees } } });
  };
  const out: Record<number, LoadResult> = {};
  for (const clients of [...new Set([1, o.clients[o.clients.length - 1]])])
    out[clients] = await warmAndRun({ url: t.url, clients, seconds: o.duration, body, server: t.server }, o.warmup);
  return out;
}

/** One createEmployees of 10,000 new rows (ids after the seeded ones), timed; returns ms. */
export function bulkRun(t: Topology, o: BenchOptions, batch: number): Promise<number> {
  return createRows(t.url, o.rows + 1 + batch * BULK_ROWS, BULK_ROWS);
}

/** A long write run at the highest client count; compares server RSS near its start and its end. */
export async function soakRun(t: Topology, o: BenchOptions): Promise<SoakResult> {
  const clients = o.clients[o.clients.length - 1];
  const rss = new RssSampler(() => t.server.rss()).start();
  const load = await runHttp({ url: t.url, clients, seconds: 0, amount: o.soak, body: updateBody(o.rows), server: t.server });
  rss.stop();
  // RSS saws up and down with garbage collection; a leak shows as rising peaks, so compare the
  // highest sample of the first half of the run with the highest of the second half.
  const half = Math.max(1, Math.floor(rss.samples.length / 2));
  return { load, startRss: Math.max(...rss.samples.slice(0, half)), endRss: Math.max(...rss.samples.slice(half)) };
}

/**
 * Catch-up, on leader + 2 followers in quorum 1: stop follower-2, acknowledge `o.catchup` updates
 * without it, restart it and time until the server reports it IN_SYNC again.
 */
export async function catchUpRun(t: Topology, o: BenchOptions): Promise<CatchUpResult> {
  const follower = 'follower-2';
  await t.nodes.node(follower).stop();
  const clients = o.clients[o.clients.length - 1];
  const load = await runHttp({ url: t.url, clients, seconds: 0, amount: o.catchup, body: updateBody(o.rows) });
  await waitForState(t.url, follower, 'DOWN', 10_000);
  const missedPositions = (await nodeStates(t.url)).find((n) => n.name === follower)?.lagPositions ?? null;
  await t.nodes.node(follower).start();
  const started = performance.now();
  let finished = true;
  await waitForState(t.url, follower, 'IN_SYNC', o.catchupTimeout * 1000, 10).catch(() => (finished = false));
  const seconds = (performance.now() - started) / 1000;
  const end = (await nodeStates(t.url)).find((n) => n.name === follower);
  return {
    missedWrites: load.requests,
    missedPositions,
    writeSeconds: load.seconds,
    seconds,
    perSec: finished ? load.requests / seconds : NaN,
    finished,
    endState: end?.state ?? 'missing',
    endLagPositions: end?.lagPositions ?? null,
    load,
  };
}
