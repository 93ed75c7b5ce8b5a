import 'reflect-metadata';
import { Client } from 'pg';
import type { Syncrep } from '../../src/app';
import { LocalNodes } from '../../harness/nodes';
import { ADMIN_HEADERS, TEST_ADMIN_TOKEN, errorCode, gql, startServer, type GqlResponse } from '../support/server';
import { waitAllInSync, waitFor } from '../support/wait';

const ROWS = 3000;

let nodes: LocalNodes;
let app: Syncrep;

const admin = (query: string, variables: Record<string, unknown> = {}) => gql(app.url, query, variables, ADMIN_HEADERS);

const CONSISTENCY = `{ consistency { consistent checkedRows leaderSuspect summary totalMs heldCommitsMs
  nodes { name state consistent skipped differingRows differingIds markedDiverged differences { table keys } } } }`;

async function states(): Promise<Record<string, string>> {
  const result = await gql(app.url, '{ nodes { name state } }');
  return Object.fromEntries(result.data!.nodes.map((n: { name: string; state: string }) => [n.name, n.state]));
}

async function everyNodeIdentical(): Promise<void> {
  const leader = await nodes.rows('leader');
  for (const name of ['follower-1', 'follower-2']) expect(await nodes.rows(name)).toEqual(leader);
  for (const name of ['leader', 'follower-1', 'follower-2']) expect(await nodes.prepared(name)).toEqual([]);
}

beforeAll(async () => {
  nodes = await LocalNodes.start(2);
  // A health check that outlasts its limit takes the node DOWN, and a DOWN follower is not compared:
  // on a loaded machine (the 3,000-row write just before) 1 s was sometimes not enough.
  app = await startServer(nodes, { ADMIN_TOKEN: TEST_ADMIN_TOKEN, HEALTH_TIMEOUT_MS: '10000' });
  const inputs = Array.from({ length: ROWS }, (_, i) => ({ id: i + 1, name: `E${i + 1}`, salary: i }));
  const created = await gql(app.url, 'mutation ($inputs: [CreateEmployeeInput!]!) { createEmployees(inputs: $inputs) { position } }', {
    inputs,
  });
  expect(created.errors).toBeUndefined();
});

afterAll(async () => {
  await app?.stop();
  await nodes?.stop();
});

test('identical nodes are consistent, and the report says how long it held commits', async () => {
  await waitAllInSync(app.url);
  const result = await admin(CONSISTENCY);
  expect(result.errors).toBeUndefined();
  const report = result.data!.consistency;
  // Every node's verdict and skip reason first: when one is skipped, the failure says why.
  expect(report.nodes.map((n: { name: string; consistent: boolean; skipped: string | null }) => [n.name, n.consistent, n.skipped])).toEqual(
    [
      ['leader', true, null],
      ['follower-1', true, null],
      ['follower-2', true, null],
    ],
  );
  expect(report).toMatchObject({ consistent: true, leaderSuspect: false });
  expect(report.checkedRows).toBeGreaterThanOrEqual(ROWS);
  expect(report.heldCommitsMs).toBeGreaterThanOrEqual(0);
});

test("a row changed behind syncrep's back is found, the follower leaves service, and resyncNode rebuilds it while writes go on", async () => {
  await nodes.query('follower-1', 'UPDATE emp SET salary = salary + 1 WHERE id = 1500');

  const result = await admin(CONSISTENCY);
  expect(result.errors).toBeUndefined();
  const report = result.data!.consistency;
  expect(report.consistent).toBe(false);
  expect(report.leaderSuspect).toBe(false);
  const [, f1, f2] = report.nodes;
  expect(f1).toMatchObject({
    name: 'follower-1',
    consistent: false,
    differingIds: [1500],
    differingRows: 1,
    markedDiverged: true,
    state: 'DIVERGED',
  });
  expect(f1.differences).toEqual([{ table: 'emp', keys: ['1500'] }]);
  expect(f2).toMatchObject({ name: 'follower-2', consistent: true, differingIds: [], state: 'IN_SYNC' });

  // Out of service, and the health monitor (every 200 ms here) does not bring it back.
  expect((await states())['follower-1']).toBe('DIVERGED');
  const pinned = await gql(app.url, '{ employee(id: 1500, readFrom: { node: "follower-1" }) { id } }');
  expect(errorCode(pinned)).toBe('NODE_UNAVAILABLE');
  for (let i = 0; i < 12; i++) {
    const read = await gql(app.url, '{ employee(id: 1) { id } }');
    expect(read.errors).toBeUndefined();
    expect(read.extensions?.replication?.servedBy).not.toBe('follower-1');
  }
  expect((await states())['follower-1']).toBe('DIVERGED');

  // A writer keeps writing through HTTP while the follower is rebuilt.
  const created: number[] = [];
  const salaries = new Map<number, number>();
  let writing = true;
  const writer = (async () => {
    for (let i = 0; writing || i < 5; i++) {
      const id = 100_000 + i;
      const create = await gql(app.url, `mutation { createEmployee(input: { id: ${id}, name: "W${i}", salary: ${i} }) { position } }`);
      if (!create.errors) created.push(id);
      const target = 1 + (i % 50);
      const update = await gql(app.url, `mutation { updateEmployee(id: ${target}, input: { salary: ${1_000_000 + i} }) { position } }`);
      if (!update.errors) salaries.set(target, 1_000_000 + i);
    }
  })();
  const resynced = await admin('mutation { resyncNode(node: "follower-1") { name role state } }');
  writing = false;
  await writer;
  expect(resynced.errors).toBeUndefined();
  expect(resynced.data!.resyncNode).toEqual({ name: 'follower-1', role: 'FOLLOWER', state: 'IN_SYNC' });
  expect(created.length).toBeGreaterThan(0);

  await waitAllInSync(app.url);
  await everyNodeIdentical();
  for (const name of ['leader', 'follower-1', 'follower-2']) {
    const rows = await nodes.rows(name);
    const ids = new Set(rows.map((r) => r.id));
    for (const id of created) expect(ids.has(id)).toBe(true);
    for (const [id, salary] of salaries) expect(rows.find((r) => r.id === id)?.salary).toBe(salary);
  }
  const again = await admin(CONSISTENCY);
  expect(again.data!.consistency.consistent).toBe(true);
});

test('a follower that refuses a write it lacks nothing for (SR001) becomes DIVERGED; the next write goes on without it', async () => {
  // The test before may have updated row 7 (its writer runs as long as the rebuild takes).
  const salaryOf7 = async () => (await nodes.query<{ salary: number }>('leader', 'SELECT salary FROM emp WHERE id = 7'))[0].salary;
  const before = await salaryOf7();
  await nodes.query('follower-1', 'DELETE FROM emp WHERE id = 7');

  const refused = await gql(app.url, 'mutation { updateEmployee(id: 7, input: { salary: 77 }) { position } }');
  expect(errorCode(refused)).toBe('REPLICATION_FAILED');
  expect(refused.errors![0].extensions!.nodes).toEqual(['follower-1']);
  expect(await states()).toEqual({ leader: 'UP', 'follower-1': 'DIVERGED', 'follower-2': 'IN_SYNC' });
  // Rolled back everywhere.
  expect(await salaryOf7()).toBe(before);

  const next = await gql(app.url, 'mutation { updateEmployee(id: 7, input: { salary: 78 }) { committedOn } }');
  expect(next.errors).toBeUndefined();
  expect(next.data!.updateEmployee.committedOn).toEqual(['leader', 'follower-2']);
  expect(errorCode(await gql(app.url, '{ employee(id: 7, readFrom: { node: "follower-1" }) { id } }'))).toBe('NODE_UNAVAILABLE');

  const resynced = await admin('mutation { resyncNode(node: "follower-1") { state } }');
  expect(resynced.data?.resyncNode.state).toBe('IN_SYNC');
  await everyNodeIdentical();
});

test('when the leader is the odd one out, the report says so and no follower is marked', async () => {
  await nodes.query('leader', "UPDATE emp SET name = 'Changed on the leader only' WHERE id = 42");
  try {
    const result = await admin(CONSISTENCY);
    expect(result.errors).toBeUndefined();
    const report = result.data!.consistency;
    expect(report).toMatchObject({ consistent: false, leaderSuspect: true });
    expect(report.summary).toMatch(/leader/);
    expect(report.nodes[0]).toMatchObject({ name: 'leader', consistent: false, differingIds: [42] });
    for (const follower of report.nodes.slice(1))
      expect(follower).toMatchObject({ differingIds: [42], markedDiverged: false, state: 'IN_SYNC' });
    expect(await states()).toEqual({ leader: 'UP', 'follower-1': 'IN_SYNC', 'follower-2': 'IN_SYNC' });
  } finally {
    await nodes.query('leader', "UPDATE emp SET name = 'E42' WHERE id = 42");
  }
});

test('a row the leader alone changed, while another follower is already diverged elsewhere, suspects the leader: no follower is marked', async () => {
  await nodes.query('follower-1', "UPDATE emp SET name = 'follower-1 only' WHERE id IN (9, 10)");
  expect((await admin(CONSISTENCY)).data!.consistency.nodes[1]).toMatchObject({ name: 'follower-1', markedDiverged: true });
  await nodes.query('leader', "UPDATE emp SET name = 'Changed on the leader only' WHERE id = 42");
  try {
    const report = (await admin(CONSISTENCY)).data!.consistency;
    // Row 42: both followers hold the same and differ from the leader; rows 9 and 10 are follower-1's own.
    expect(report).toMatchObject({ consistent: false, leaderSuspect: true });
    expect(report.nodes[0]).toMatchObject({ name: 'leader', differingIds: [42] });
    expect(report.nodes[1]).toMatchObject({ name: 'follower-1', differingIds: [9, 10, 42], state: 'DIVERGED' });
    expect(report.nodes[2]).toMatchObject({ name: 'follower-2', differingIds: [42], markedDiverged: false, state: 'IN_SYNC' });
    expect(await states()).toEqual({ leader: 'UP', 'follower-1': 'DIVERGED', 'follower-2': 'IN_SYNC' });
  } finally {
    await nodes.query('leader', "UPDATE emp SET name = 'E42' WHERE id = 42");
  }
  expect((await admin('mutation { resyncNode(node: "follower-1") { state } }')).data?.resyncNode.state).toBe('IN_SYNC');
  await everyNodeIdentical();
});

test("a server's own words (a follower refusing logins) reach operators in lastError, never a client without the token", async () => {
  // One session kept open to undo it; new logins refused; the server's connections cut.
  const keeper = new Client({ connectionString: nodes.node('follower-2').url });
  keeper.on('error', () => undefined);
  await keeper.connect();
  try {
    await keeper.query('ALTER ROLE postgres NOLOGIN');
    await keeper.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND datname IS NOT NULL');
    // The cut connections fail first ("connection failed"); the next health check meets the refusal itself.
    const lastError = async () =>
      (await admin('{ nodes { name state lastError } }')).data!.nodes[2] as { state: string; lastError: string };
    await waitFor(
      async () => /not permitted to log in/.test((await lastError()).lastError ?? ''),
      'follower-2 refusing logins, in lastError',
    );
    expect((await lastError()).state).toBe('DOWN');
    const pinned = await gql(app.url, '{ employee(id: 1, readFrom: { node: "follower-2" }) { id } }');
    const write = await gql(app.url, 'mutation { updateEmployee(id: 1, input: { salary: 5 }) { position } }');
    expect([errorCode(pinned), errorCode(write)]).toEqual(['NODE_UNAVAILABLE', 'REPLICATION_FAILED']);
    for (const response of [pinned, write]) expect(JSON.stringify(response.errors)).not.toMatch(/permitted|role|postgres/);
  } finally {
    await keeper.query('ALTER ROLE postgres LOGIN');
    await keeper.end();
  }
  await waitAllInSync(app.url);
  await everyNodeIdentical();
});

test.each([
  ['leader', /leader/],
  ['follower-9', /no node named "follower-9"/],
])('resyncNode(%s) is BAD_USER_INPUT naming the field', async (node, rule) => {
  const result: GqlResponse = await admin('mutation ($node: String!) { resyncNode(node: $node) { state } }', { node });
  expect(errorCode(result)).toBe('BAD_USER_INPUT');
  const fields = result.errors![0].extensions!.fields;
  expect(fields).toHaveLength(1);
  expect(fields[0].field).toBe('node');
  expect(fields[0].rules[0]).toMatch(rule);
});

test('resyncNode of a follower that is down fails with NODE_UNAVAILABLE and the node says why', async () => {
  await nodes.node('follower-2').stop();
  try {
    const result = await admin('mutation { resyncNode(node: "follower-2") { state } }');
    expect(errorCode(result)).toBe('NODE_UNAVAILABLE');
    const listed = await admin('{ nodes { name state lastError } }');
    const f2 = listed.data!.nodes.find((n: { name: string }) => n.name === 'follower-2');
    expect(['DOWN', 'NEEDS_RESYNC', 'OUT_OF_SYNC']).toContain(f2.state);
    expect(f2.lastError).toBeTruthy();
  } finally {
    await nodes.node('follower-2').start();
  }
  await waitAllInSync(app.url);
  await everyNodeIdentical();
});
