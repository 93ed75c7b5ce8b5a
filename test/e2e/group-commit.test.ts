import 'reflect-metadata';
import { Client } from 'pg';
import type { Syncrep } from '../../src/app';
import { LocalNodes } from '../../harness/nodes';
import { errorCode, gql, startServer, type GqlResponse } from '../support/server';
import { waitFor } from '../support/wait';

const range = (from: number, n: number) => Array.from({ length: n }, (_, k) => from + k);

let nodes: LocalNodes;
let app: Syncrep;

beforeAll(async () => {
  nodes = await LocalNodes.start(1);
  // One distributed commit at a time: whatever arrives while it runs goes into the next one, together.
  app = await startServer(nodes, { WRITE_CONCURRENCY: '1', METRICS_PORT: '0', LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent' });
  // 517 is left out, for a NOT_FOUND.
  const inputs = range(501, 40)
    .filter((id) => id !== 517)
    .map((id) => ({ id, name: `Group ${id}`, salary: 100 }));
  const seeded = await gql(app.url, 'mutation ($inputs: [CreateEmployeeInput!]!) { createEmployees(inputs: $inputs) { position } }', {
    inputs,
  });
  expect(seeded.errors).toBeUndefined();
});

afterAll(async () => {
  await app?.stop();
  await nodes?.stop();
});

const UPDATE = 'mutation ($id: Int!, $s: Int!) { updateEmployee(id: $id, input: { salary: $s }) { position } }';
const TRANSFER =
  'mutation ($from: Int!, $to: Int!, $amount: Int!) { transferSalary(fromId: $from, toId: $to, amount: $amount) { position } }';
const CREATE = 'mutation ($id: Int!) { createEmployee(input: { id: $id, name: "Twin", salary: 1 }) { position } }';

/** One sample of a Prometheus text exposition, e.g. `syncrep_write_batch_mutations_count`. */
function sampleOf(text: string, sample: string): number {
  return Number(new RegExp(`^${sample.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);
}

async function metric(sample: string): Promise<number> {
  return sampleOf(await (await fetch(app.metrics!.url)).text(), sample);
}

/**
 * Holds the running commit on a row lock on the leader while `failing` and good updates of `ids`
 * arrive, so that they all go into the next commit together; returns the failing ones' codes.
 * Batches run in key order, so failing mutations keyed inside `ids` run between good ones.
 */
async function inOneCommit(ids: number[], salary: number, failing: () => Promise<GqlResponse>[]): Promise<(string | undefined)[]> {
  const holder = new Client({ connectionString: nodes.node('leader').url });
  await holder.connect();
  try {
    const commits = await metric('syncrep_write_batch_mutations_count');
    const mutations = await metric('syncrep_write_batch_mutations_sum');
    await holder.query('BEGIN; SELECT 1 FROM emp WHERE id = 540 FOR UPDATE');
    const running = gql(app.url, UPDATE, { id: 540, s: salary });
    // Blocked by the holder itself: other sessions may wait on locks of their own meanwhile.
    const blocked = 'SELECT 1 FROM pg_stat_activity WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))';
    await waitFor(async () => {
      // pg_stat_activity is read once per transaction unless cleared: the holder's is still open.
      await holder.query('SELECT pg_stat_clear_snapshot()');
      return ((await holder.query(blocked)).rowCount ?? 0) >= 1;
    }, 'the running commit to wait for the row lock');
    const good = ids.map((id) => gql(app.url, UPDATE, { id, s: salary }));
    const failures = failing();
    // Every one of them queued behind the held commit before it is let go.
    const queued = ids.length + failures.length;
    await waitFor(async () => (await metric('syncrep_write_queue_mutations')) === queued, `${queued} mutations queued`);
    await holder.query('COMMIT');
    expect((await running).errors).toBeUndefined();
    const goodResults = await Promise.all(good);
    for (const result of goodResults) expect(result.errors).toBeUndefined();
    const codes = (await Promise.all(failures)).map(errorCode);
    // Two commits: the one held on the lock, and one carrying every good and failing mutation.
    expect(await metric('syncrep_write_batch_mutations_count')).toBe(commits + 2);
    expect(await metric('syncrep_write_batch_mutations_sum')).toBe(mutations + 1 + ids.length + codes.length);
    expect(new Set(goodResults.map((r) => Object.values(r.data ?? {})[0]?.position)).size).toBe(1);
    return codes;
  } finally {
    await holder.end();
  }
}

async function salaries(node: string, from: number, to: number): Promise<number[]> {
  const rows = await nodes.query<{ salary: number }>(node, 'SELECT salary FROM emp WHERE id BETWEEN $1 AND $2 ORDER BY id', [from, to]);
  return rows.map((r) => r.salary);
}

test('a mutation that changed rows and is then refused (overdraft) is undone alone in its group commit', async () => {
  const codes = await inOneCommit([...range(501, 5), ...range(508, 5)], 1000, () => [
    gql(app.url, TRANSFER, { from: 506, to: 507, amount: 5_000 }),
  ]);
  expect(codes).toEqual(['BAD_USER_INPUT']);
  for (const node of ['leader', 'follower-1']) {
    expect(await salaries(node, 501, 512)).toEqual([...Array(5).fill(1000), 100, 100, ...Array(5).fill(1000)]);
    expect(await nodes.prepared(node)).toEqual([]);
  }
});

test('a mutation that matches nothing (NOT_FOUND) fails alone in its group commit', async () => {
  const codes = await inOneCommit([...range(513, 4), ...range(518, 6)], 2000, () => [gql(app.url, UPDATE, { id: 517, s: 1 })]);
  expect(codes).toEqual(['NOT_FOUND']);
  for (const node of ['leader', 'follower-1']) expect(await salaries(node, 513, 523)).toEqual(Array(10).fill(2000));
});

test('a mutation the database refuses (duplicate key) fails alone in its group commit', async () => {
  const codes = await inOneCommit([...range(524, 5), ...range(530, 5)], 3000, () => [gql(app.url, CREATE, { id: 529 })]);
  expect(codes).toEqual(['ALREADY_EXISTS']);
  for (const node of ['leader', 'follower-1']) {
    expect(await salaries(node, 524, 534)).toEqual([...Array(5).fill(3000), 100, ...Array(5).fill(3000)]);
    expect(await nodes.query(node, "SELECT count(*)::int AS n FROM emp WHERE name = 'Twin'")).toEqual([{ n: 0 }]);
  }
});

test("the metrics endpoint shows the commits, their steps, mutations per commit and every node's state", async () => {
  const response = await fetch(app.metrics!.url);
  expect(response.status).toBe(200);
  const text = await response.text();
  const value = (sample: string) => sampleOf(text, sample);
  const commits = value('syncrep_write_batch_mutations_count');
  // The tests above put eleven or more mutations into one commit, three times.
  expect(value('syncrep_write_batch_mutations_sum') / commits).toBeGreaterThan(2);
  expect(value('syncrep_distributed_commits_total{outcome="committed"}')).toBeGreaterThanOrEqual(7);
  for (const phase of ['leader', 'prepare', 'commit', 'commit_prepared']) {
    expect(value(`syncrep_write_phase_seconds_count{phase="${phase}"}`)).toBeGreaterThanOrEqual(7);
  }
  expect(text).toContain('syncrep_process_resident_memory_bytes');
  expect(value('syncrep_node_state{node="follower-1",role="FOLLOWER",state="IN_SYNC"}')).toBe(1);
  expect(value('syncrep_node_state{node="follower-1",role="FOLLOWER",state="DOWN"}')).toBe(0);
  expect(value('syncrep_node_state{node="leader",role="LEADER",state="UP"}')).toBe(1);
  expect(value('syncrep_follower_applied_position{node="follower-1"}')).toBeGreaterThanOrEqual(commits);
  expect((await fetch(app.metrics!.url.replace('/metrics', '/other'))).status).toBe(404);
});
