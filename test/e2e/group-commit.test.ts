import 'reflect-metadata';
import { Client } from 'pg';
import type { Syncrep } from '../../src/app';
import { TestNodes } from '../support/nodes';
import { errorCode, gql, startServer, type GqlResponse } from '../support/server';
import { waitFor } from '../support/wait';

let nodes: TestNodes;
let app: Syncrep;

beforeAll(async () => {
  nodes = await TestNodes.start(1);
  // One distributed commit at a time: whatever arrives while it runs goes into the next one, together.
  app = await startServer(nodes, { WRITE_CONCURRENCY: '1', METRICS_PORT: '0', LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const inputs = Array.from({ length: 40 }, (_, k) => ({ id: 501 + k, name: `Group ${k}`, salary: 100 }));
  const seeded = await gql(app.url, 'mutation ($inputs: [CreateEmployeeInput!]!) { createEmployees(inputs: $inputs) { position } }', { inputs });
  expect(seeded.errors).toBeUndefined();
});

afterAll(async () => {
  await app?.stop();
  await nodes?.stop();
});

const UPDATE = 'mutation ($id: Int!, $s: Int!) { updateEmployee(id: $id, input: { salary: $s }) { position } }';
const TRANSFER = 'mutation ($from: Int!, $to: Int!, $amount: Int!) { transferSalary(fromId: $from, toId: $to, amount: $amount) { position } }';
const CREATE = 'mutation ($id: Int!) { createEmployee(input: { id: $id, name: "Twin", salary: 1 }) { position } }';

/**
 * Holds the running commit on a row lock on the leader while `failing` and ten good updates of
 * `ids` arrive, so that they all go into the next commit together; returns the failing ones' codes.
 */
async function inOneCommit(ids: number[], salary: number, failing: () => Promise<GqlResponse>[]): Promise<(string | undefined)[]> {
  const holder = new Client({ connectionString: nodes.node('leader').url });
  await holder.connect();
  try {
    await holder.query('BEGIN; SELECT 1 FROM emp WHERE id = 540 FOR UPDATE');
    const running = gql(app.url, UPDATE, { id: 540, s: salary });
    const blocked = "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock'";
    await waitFor(async () => (await holder.query(blocked)).rowCount === 1, 'the running commit to wait for the row lock');
    const update = (id: number) => gql(app.url, UPDATE, { id, s: salary });
    // The failing ones go in the middle of the good ones.
    const good = ids.slice(0, 5).map(update);
    const failures = failing();
    good.push(...ids.slice(5).map(update));
    // Not a timing assertion: the wait only lets the requests reach the server's queue. The
    // check below that the good ones shared one commit fails if they did not.
    await new Promise((resolve) => setTimeout(resolve, 500));
    await holder.query('COMMIT');
    expect((await running).errors).toBeUndefined();
    const goodResults = await Promise.all(good);
    for (const result of goodResults) expect(result.errors).toBeUndefined();
    expect(new Set(goodResults.map((r) => Object.values(r.data ?? {})[0]?.position)).size).toBe(1);
    return (await Promise.all(failures)).map(errorCode);
  } finally {
    await holder.end();
  }
}

async function salaries(node: string, from: number, to: number): Promise<number[]> {
  const rows = await nodes.query<{ salary: number }>(node, 'SELECT salary FROM emp WHERE id BETWEEN $1 AND $2 ORDER BY id', [from, to]);
  return rows.map((r) => r.salary);
}

const range = (from: number, n: number) => Array.from({ length: n }, (_, k) => from + k);

test('a mutation that changed rows and is then refused (overdraft) is undone alone in its group commit', async () => {
  const codes = await inOneCommit(range(501, 10), 1000, () => [gql(app.url, TRANSFER, { from: 511, to: 512, amount: 5_000 })]);
  expect(codes).toEqual(['BAD_USER_INPUT']);
  for (const node of ['leader', 'follower-1']) {
    expect(await salaries(node, 501, 512)).toEqual([...Array(10).fill(1000), 100, 100]);
    expect(await nodes.prepared(node)).toEqual([]);
  }
});

test('a mutation that matches nothing (NOT_FOUND) fails alone in its group commit', async () => {
  const codes = await inOneCommit(range(513, 10), 2000, () => [gql(app.url, UPDATE, { id: 599, s: 1 })]);
  expect(codes).toEqual(['NOT_FOUND']);
  for (const node of ['leader', 'follower-1']) expect(await salaries(node, 513, 522)).toEqual(Array(10).fill(2000));
});

test('a mutation the database refuses (duplicate key) fails alone in its group commit', async () => {
  const codes = await inOneCommit(range(523, 10), 3000, () => [gql(app.url, CREATE, { id: 501 })]);
  expect(codes).toEqual(['ALREADY_EXISTS']);
  for (const node of ['leader', 'follower-1']) {
    expect(await salaries(node, 523, 532)).toEqual(Array(10).fill(3000));
    expect(await nodes.query(node, "SELECT count(*)::int AS n FROM emp WHERE name = 'Twin'")).toEqual([{ n: 0 }]);
  }
});

test('the metrics endpoint shows the commits, their steps and how many mutations each carried', async () => {
  const response = await fetch(app.metrics!.url);
  expect(response.status).toBe(200);
  const text = await response.text();
  const value = (sample: string) => Number(new RegExp(`^${sample.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);
  const commits = value('syncrep_write_batch_mutations_count');
  // The tests above put eleven or more mutations into one commit, three times.
  expect(value('syncrep_write_batch_mutations_sum') / commits).toBeGreaterThan(2);
  expect(value('syncrep_distributed_commits_total{outcome="committed"}')).toBeGreaterThanOrEqual(7);
  for (const phase of ['leader', 'prepare', 'commit', 'commit_prepared']) {
    expect(value(`syncrep_write_phase_seconds_count{phase="${phase}"}`)).toBeGreaterThanOrEqual(7);
  }
  expect(text).toContain('syncrep_process_resident_memory_bytes');
  expect((await fetch(app.metrics!.url.replace('/metrics', '/other'))).status).toBe(404);
});
