import 'reflect-metadata';
import { LocalNodes } from '../../harness/nodes';
import { ADMIN_HEADERS, errorCode, gql, startServer, TEST_ADMIN_TOKEN } from '../support/server';
import { record, type Outcomes } from '../support/outcomes';
import { waitAllInSync, waitFor } from '../support/wait';

let nodes: LocalNodes;

beforeEach(async () => {
  nodes = await LocalNodes.start(2);
});

afterEach(async () => {
  await nodes?.stop();
});

const CREATE = 'mutation ($id: Int!) { createEmployee(input: { id: $id, name: "W", salary: 1 }) { committedOn } }';

/**
 * Creates ids from `start` one client per lane until `stop()`; returns which were acknowledged,
 * which failed (nothing written) and which have an unknown outcome (on every node or none).
 */
function writeLoad(url: string, start: number, lanes: number) {
  const outcomes: Outcomes<number> = { acknowledged: [], failed: [], unknown: [] };
  let running = true;
  const done = Promise.all(
    Array.from({ length: lanes }, async (_, lane) => {
      for (let i = 0; running; i++) await record(outcomes, start + i * lanes + lane, url, CREATE, { id: start + i * lanes + lane });
    }),
  );
  return { ...outcomes, stop: async () => ((running = false), await done) };
}

async function expectIdenticalEverywhere(): Promise<void> {
  const rows = await nodes.rowsEverywhere();
  expect(rows['follower-1']).toEqual(rows.leader);
  expect(rows['follower-2']).toEqual(rows.leader);
  for (const node of ['leader', 'follower-1', 'follower-2']) expect(await nodes.prepared(node)).toEqual([]);
}

async function ids(node: string): Promise<Set<number>> {
  return new Set((await nodes.rows(node)).map((r) => r.id));
}

test('quorum 1: SIGKILL a follower under load; acknowledged writes are on every in-sync node, failed ones nowhere; it catches up', async () => {
  const app = await startServer(nodes, { SYNC_MODE: 'quorum', SYNC_QUORUM: '1', ADMIN_TOKEN: TEST_ADMIN_TOKEN });
  try {
    const load = writeLoad(app.url, 1, 4);
    await waitFor(async () => load.acknowledged.length >= 40, '40 writes before the kill');
    nodes.node('follower-2').signal('SIGKILL');
    const ackedAtKill = load.acknowledged.length;
    await waitFor(async () => load.acknowledged.length >= ackedAtKill + 100, '100 writes after the kill');
    await load.stop();
    const leader = await ids('leader');
    const follower1 = await ids('follower-1');
    for (const id of load.acknowledged) expect(leader.has(id) && follower1.has(id)).toBe(true);
    for (const id of load.failed) expect(leader.has(id) || follower1.has(id)).toBe(false);
    for (const id of load.unknown) expect([id, leader.has(id)]).toEqual([id, follower1.has(id)]);
    // nodes shows what the health monitor last measured: wait for a measurement after the load.
    const loadEnded = new Date().toISOString();
    const measuredSince = async () =>
      ((await gql(app.url, '{ nodes { lagMeasuredAt } }')).data!.nodes as { lagMeasuredAt: string }[]).every(
        (n) => n.lagMeasuredAt > loadEnded,
      );
    await waitFor(measuredSince, 'a lag measurement after the load');
    // lastError is for operators only.
    const down = await gql(app.url, '{ nodes { name state appliedPosition lagPositions lagMs lastError lastContact } }', {}, ADMIN_HEADERS);
    const [leaderState, follower1State, follower2State] = down.data!.nodes;
    expect(leaderState).toMatchObject({ name: 'leader', state: 'UP', lagPositions: 0 });
    expect(follower1State).toMatchObject({ name: 'follower-1', state: 'IN_SYNC', lagPositions: 0 });
    expect(follower2State).toMatchObject({ name: 'follower-2', state: 'DOWN', lastError: expect.any(String) });
    // Positions count distributed commits, and group commit puts several writes in one.
    expect(follower2State.lagPositions).toBeGreaterThan(0);
    expect(follower2State.lagPositions).toBeLessThanOrEqual(load.acknowledged.length - ackedAtKill);
    expect(follower2State.lagMs).toBeGreaterThan(0);
    expect(BigInt(follower2State.appliedPosition)).toBeLessThan(BigInt(leaderState.appliedPosition));
    expect(Date.parse(follower1State.lastContact)).not.toBeNaN();

    await nodes.node('follower-2').start();
    await waitAllInSync(app.url);
    await expectIdenticalEverywhere();
    const committed = await ids('leader');
    expect((await ids('follower-2')).size).toBe(load.acknowledged.length + load.unknown.filter((id) => committed.has(id)).length);
  } finally {
    await app.stop();
  }
});

test('SIGSTOP a follower: all mode fails writes within the timeout; quorum mode goes on; after SIGCONT it catches up', async () => {
  const all = await startServer(nodes, { DB_TIMEOUT_MS: '1000' });
  nodes.node('follower-1').signalAll('SIGSTOP');
  try {
    const failed = await gql(all.url, CREATE, { id: 1 });
    expect(errorCode(failed)).toBe('REPLICATION_FAILED');
    expect(failed.errors![0].message).toContain('follower-1');
  } finally {
    nodes.node('follower-1').signalAll('SIGCONT');
  }
  await waitAllInSync(all.url);
  await all.stop();
  await expectIdenticalEverywhere();

  const quorum = await startServer(nodes, { SYNC_MODE: 'quorum', SYNC_QUORUM: '1', DB_TIMEOUT_MS: '1000' });
  nodes.node('follower-1').signalAll('SIGSTOP');
  try {
    for (let id = 10; id < 30; id++) expect((await gql(quorum.url, CREATE, { id })).errors).toBeUndefined();
    const states = await gql(quorum.url, '{ nodes { name state } }');
    expect(states.data!.nodes.find((n: { name: string }) => n.name === 'follower-1').state).not.toBe('IN_SYNC');
  } finally {
    nodes.node('follower-1').signalAll('SIGCONT');
  }
  await waitAllInSync(quorum.url);
  await quorum.stop();
  await expectIdenticalEverywhere();
  expect((await ids('follower-1')).size).toBe(20);
});

test('transfers while a follower is killed and restarted: total salary unchanged and identical on every node', async () => {
  const app = await startServer(nodes, { SYNC_MODE: 'quorum', SYNC_QUORUM: '1' });
  try {
    const inputs = Array.from({ length: 10 }, (_, i) => ({ id: i + 1, name: `A${i}`, salary: 1000 }));
    const seeded = await gql(app.url, 'mutation ($inputs: [CreateEmployeeInput!]!) { createEmployees(inputs: $inputs) { position } }', {
      inputs,
    });
    expect(seeded.errors).toBeUndefined();
    let running = true;
    let ok = 0;
    // Every refusal is coded and expected: too little money, a deadlock lost five times, or the
    // follower lost mid-commit (nothing written); never an internal error.
    const unexpected: string[] = [];
    const lanes = Array.from({ length: 4 }, async (_, lane) => {
      for (let i = 0; running; i++) {
        const from = ((lane * 7 + i) % 10) + 1;
        const to = ((lane * 3 + i * 5 + 1) % 10) + 1;
        if (from === to) continue;
        const result = await gql(
          app.url,
          `mutation { transferSalary(fromId: ${from}, toId: ${to}, amount: ${1 + (i % 50)}) { position } }`,
        );
        if (!result.errors) ok++;
        else {
          const code = String(result.errors[0].extensions?.code);
          const expected =
            (code === 'BAD_USER_INPUT' && /cannot transfer/.test(result.errors[0].message)) ||
            code === 'WRITE_CONFLICT' ||
            (code === 'REPLICATION_FAILED' && result.errors[0].extensions?.outcomeUnknown !== true);
          if (!expected) unexpected.push(`${code}: ${result.errors[0].message}`);
        }
      }
    });
    await waitFor(async () => ok >= 30, '30 transfers');
    nodes.node('follower-1').signal('SIGKILL');
    await waitFor(async () => ok >= 100, '100 transfers');
    await nodes.node('follower-1').start();
    await waitFor(async () => ok >= 150, '150 transfers');
    running = false;
    await Promise.all(lanes);
    expect(unexpected).toEqual([]);
    await waitAllInSync(app.url);
    for (const node of ['leader', 'follower-1', 'follower-2']) {
      expect(await nodes.query(node, 'SELECT sum(salary)::int AS total FROM emp')).toEqual([{ total: 10_000 }]);
    }
    await expectIdenticalEverywhere();
  } finally {
    await app.stop();
  }
});

test('a follower behind the retained log is rebuilt from a snapshot while writes go on, and ends identical', async () => {
  const app = await startServer(nodes, { SYNC_MODE: 'quorum', SYNC_QUORUM: '1', LOG_RETENTION: '20' });
  try {
    await nodes.node('follower-2').stop();
    for (let id = 1; id <= 120; id++) expect((await gql(app.url, CREATE, { id })).errors).toBeUndefined();
    await waitFor(
      async () => Number((await nodes.query<{ n: number }>('leader', 'SELECT count(*)::int AS n FROM syncrep_log'))[0].n) <= 21,
      'the log trimmed to the retention bound',
    );
    const load = writeLoad(app.url, 1000, 2);
    await nodes.node('follower-2').start();
    await waitFor(async () => {
      const result = await gql(app.url, '{ nodes { name state } }');
      expect(result.errors).toBeUndefined();
      return result.data!.nodes[2].state === 'IN_SYNC';
    }, 'follower-2 rebuilt and in sync');
    const atRebuilt = load.acknowledged.length;
    await waitFor(async () => load.acknowledged.length >= atRebuilt + 20, '20 writes after the rebuild');
    await load.stop();
    expect(load.failed).toEqual([]);
    expect(load.unknown).toEqual([]);
    await expectIdenticalEverywhere();
    expect((await ids('follower-2')).size).toBe(120 + load.acknowledged.length);
  } finally {
    await app.stop();
  }
});
