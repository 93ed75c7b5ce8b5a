import 'reflect-metadata';
import { Client } from 'pg';
import type { Syncrep } from '../../src/app';
import { LocalNodes } from '../../harness/nodes';
import { ADMIN_HEADERS, TEST_ADMIN_TOKEN, errorCode, gql, startServer } from '../support/server';
import { waitAllInSync, waitFor } from '../support/wait';

const NODES = ['leader', 'follower-1', 'follower-2'];
let nodes: LocalNodes;
let app: Syncrep;

beforeAll(async () => {
  nodes = await LocalNodes.start(2);
  app = await startServer(nodes, { DB_TIMEOUT_MS: '1500', ADMIN_TOKEN: TEST_ADMIN_TOKEN });
});

afterAll(async () => {
  await app?.stop();
  await nodes?.stop();
});

const create = (id: number) =>
  gql(app.url, `mutation { createEmployee(input: { id: ${id}, name: "N${id}", salary: 1 }) { committedOn employee { id } } }`);

/** A follower that refused a write as diverged is out of service until rebuilt; this checks it and rebuilds it. */
async function expectDivergedThenRebuild(node: string): Promise<void> {
  const listed = await gql(app.url, '{ nodes { name state } }');
  expect(listed.data!.nodes.find((n: { name: string }) => n.name === node).state).toBe('DIVERGED');
  const rebuilt = await gql(app.url, `mutation { resyncNode(node: "${node}") { state } }`, {}, ADMIN_HEADERS);
  expect(rebuilt.errors).toBeUndefined();
  expect(rebuilt.data?.resyncNode.state).toBe('IN_SYNC');
}

async function expectNowhere(id: number): Promise<void> {
  for (const node of NODES) {
    if (!nodes.node(node).running) continue;
    expect(await nodes.query(node, 'SELECT id FROM emp WHERE id = $1', [id])).toEqual([]);
    expect(await nodes.prepared(node)).toEqual([]);
  }
}

test('a stopped follower fails the write with REPLICATION_FAILED naming it; nothing is left anywhere', async () => {
  await nodes.node('follower-2').stop();
  try {
    const result = await create(500);
    expect(errorCode(result)).toBe('REPLICATION_FAILED');
    expect(result.errors![0].message).toContain('follower-2');
    expect(result.errors![0].extensions!.nodes).toEqual(['follower-2']);
    await expectNowhere(500);
  } finally {
    await nodes.node('follower-2').start();
  }
  expect(await nodes.query('follower-2', 'SELECT id FROM emp WHERE id = 500')).toEqual([]);
  expect(await nodes.prepared('follower-2')).toEqual([]);
});

test('a follower holding a conflicting row has diverged: REPLICATION_FAILED, and no node keeps the write', async () => {
  // Only a follower that was in sync when it refused is judged diverged (one catching up may merely lack a write).
  await waitAllInSync(app.url);
  await nodes.query('follower-1', "INSERT INTO emp VALUES (600, 'Intruder', 1)");
  const result = await create(600);
  expect(errorCode(result)).toBe('REPLICATION_FAILED');
  expect(result.errors![0].message).toContain('follower-1');
  expect(await nodes.query('leader', 'SELECT id FROM emp WHERE id = 600')).toEqual([]);
  expect(await nodes.query('follower-2', 'SELECT id FROM emp WHERE id = 600')).toEqual([]);
  expect(await nodes.query('follower-1', 'SELECT name FROM emp WHERE id = 600')).toEqual([{ name: 'Intruder' }]);
  for (const node of NODES) expect(await nodes.prepared(node)).toEqual([]);
  await nodes.query('follower-1', 'DELETE FROM emp WHERE id = 600');
});

test('an update that touches no row on a follower (row missing there) is divergence, not success', async () => {
  // Only a follower that was in sync when it refused is judged diverged (one catching up may merely lack a write).
  await waitAllInSync(app.url);
  expect((await create(700)).errors).toBeUndefined();
  await nodes.query('follower-2', 'DELETE FROM emp WHERE id = 700');
  const result = await gql(app.url, 'mutation { updateEmployee(id: 700, input: { salary: 9 }) { position } }');
  expect(errorCode(result)).toBe('REPLICATION_FAILED');
  expect(result.errors![0].message).toMatch(/follower-2: diverged/);
  for (const node of ['leader', 'follower-1']) {
    expect(await nodes.query(node, 'SELECT salary FROM emp WHERE id = 700')).toEqual([{ salary: 1 }]);
  }
  await expectDivergedThenRebuild('follower-2');
  expect(await nodes.query('follower-2', 'SELECT salary FROM emp WHERE id = 700')).toEqual([{ salary: 1 }]);
});

test("a follower whose row differs from the leader's refuses to overwrite it: REPLICATION_FAILED, nothing changes", async () => {
  // Only a follower that was in sync when it refused is judged diverged (one catching up may merely lack a write).
  await waitAllInSync(app.url);
  expect((await create(750)).errors).toBeUndefined();
  for (const mutation of ['updateEmployee(id: 750, input: { name: "New" })', 'deleteEmployee(id: 750)']) {
    // As if follower-2 had missed an earlier write to this row.
    await nodes.query('follower-2', 'UPDATE emp SET salary = 999 WHERE id = 750');
    const result = await gql(app.url, `mutation { ${mutation} { position } }`);
    expect(errorCode(result)).toBe('REPLICATION_FAILED');
    expect(result.errors![0].message).toMatch(/follower-2: diverged/);
    for (const node of ['leader', 'follower-1'])
      expect(await nodes.query(node, 'SELECT name, salary FROM emp WHERE id = 750')).toEqual([{ name: 'N750', salary: 1 }]);
    expect(await nodes.query('follower-2', 'SELECT name, salary FROM emp WHERE id = 750')).toEqual([{ name: 'N750', salary: 999 }]);
    await expectDivergedThenRebuild('follower-2');
  }
});

test('a paused follower (SIGSTOP) fails writes within the timeout, and the next write works once it resumes', async () => {
  nodes.node('follower-1').signalAll('SIGSTOP');
  try {
    const result = await create(800);
    expect(errorCode(result)).toBe('REPLICATION_FAILED');
    expect(result.errors![0].message).toContain('follower-1');
  } finally {
    nodes.node('follower-1').signalAll('SIGCONT');
  }
  await waitAllInSync(app.url);
  await waitFor(async () => (await nodes.prepared('follower-1')).length === 0, 'no prepared transaction left on follower-1');
  await expectNowhere(800);
  const retry = await create(800);
  expect(retry.data!.createEmployee.committedOn).toEqual(NODES);
});

test('in sync mode all, once a follower is known DOWN, writes fail at once without touching the leader', async () => {
  await waitAllInSync(app.url);
  nodes.node('follower-1').signalAll('SIGSTOP');
  try {
    // The first write finds out (it waits for the follower's timeout); the follower is then DOWN.
    expect(errorCode(await create(850))).toBe('REPLICATION_FAILED');
    const position = async () =>
      (await nodes.query<{ last: string }>('leader', 'SELECT last_value::text AS last FROM syncrep_position'))[0].last;
    const before = await position();
    const next = await create(851);
    expect(errorCode(next)).toBe('REPLICATION_FAILED');
    expect(next.errors![0].message).toMatch(/not attempted: follower follower-1 is down/);
    // Nothing ran on the leader: no position was taken.
    expect(await position()).toBe(before);
  } finally {
    nodes.node('follower-1').signalAll('SIGCONT');
  }
  await waitAllInSync(app.url);
  await expectNowhere(851);
  expect((await create(851)).errors).toBeUndefined();
});

test('a write that timed out waiting on a lock does not leave its session holding locks on the leader', async () => {
  await waitAllInSync(app.url);
  expect((await create(900)).errors).toBeUndefined();
  const holder = new Client({ connectionString: nodes.node('leader').url });
  holder.on('error', () => undefined);
  await holder.connect();
  try {
    await holder.query('BEGIN; SELECT 1 FROM emp WHERE id = 900 FOR UPDATE');
    const timedOut = await gql(app.url, 'mutation { updateEmployee(id: 900, input: { salary: 2 }) { position } }');
    expect(errorCode(timedOut)).toBe('LEADER_UNAVAILABLE');
    // The client gave up after DB_TIMEOUT_MS; the server cancels the statement soon after, so no
    // session of the server is left waiting (and holding what it had locked) behind the holder.
    const waiting = 'SELECT 1 FROM pg_stat_activity WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))';
    await waitFor(
      async () => {
        // pg_stat_activity is read once per transaction unless cleared: the holder's is still open.
        await holder.query('SELECT pg_stat_clear_snapshot()');
        return (await holder.query(waiting)).rowCount === 0;
      },
      'the abandoned statement to be cancelled by the leader',
      10_000,
    );
  } finally {
    await holder.query('ROLLBACK');
    await holder.end();
  }
  await waitAllInSync(app.url);
  expect((await gql(app.url, 'mutation { updateEmployee(id: 900, input: { salary: 3 }) { position } }')).errors).toBeUndefined();
  for (const node of NODES) expect(await nodes.query(node, 'SELECT salary FROM emp WHERE id = 900')).toEqual([{ salary: 3 }]);
});

test('leader down: writes fail with LEADER_UNAVAILABLE and reads from in-sync followers go on', async () => {
  await create(900);
  await nodes.node('leader').stop();
  try {
    const write = await create(901);
    expect(errorCode(write)).toBe('LEADER_UNAVAILABLE');
    expect(JSON.stringify(write)).not.toMatch(/127\.0\.0\.1|password|INSERT/);
    const read = await gql(app.url, '{ employee(id: 900, readFrom: { role: FOLLOWER }) { id } }');
    expect(read.data!.employee).toEqual({ id: 900 });
    const leaderRead = await gql(app.url, '{ employee(id: 900, readFrom: { role: LEADER }) { id } }');
    expect(errorCode(leaderRead)).toBe('NODE_UNAVAILABLE');
  } finally {
    await nodes.node('leader').start();
  }
  for (const node of ['follower-1', 'follower-2']) expect(await nodes.query(node, 'SELECT id FROM emp WHERE id = 901')).toEqual([]);
});
