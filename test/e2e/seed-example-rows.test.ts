import 'reflect-metadata';
import { LocalNodes } from '../../harness/nodes';
import { gql, startServer } from '../support/server';
import { waitFor } from '../support/wait';

/** SEED_EXAMPLE_ROWS with REPLICATION_NODES, as docker compose runs it: the tutorial's rows, once. */
let nodes: LocalNodes;

beforeAll(async () => {
  nodes = await LocalNodes.start(1);
});

afterAll(async () => {
  await nodes?.stop();
});

const JOHN = { id: 101, name: 'John', salary: 285000 };
const SAM = { id: 102, name: 'Sam', salary: 255000 };

/** Starts a server with `env`, runs `body` against its URL, and stops it. */
async function withServer(env: Record<string, string>, body: (url: string) => Promise<void> = async () => undefined): Promise<void> {
  const app = await startServer(nodes, env);
  try {
    await body(app.url);
  } finally {
    await app.stop();
  }
}

/** Waits until every node holds exactly `expected` (a follower commits its prepared write just after the leader). */
function waitRowsEverywhere(expected: unknown[]): Promise<void> {
  const same = async () => Object.values(await nodes.rowsEverywhere()).every((rows) => JSON.stringify(rows) === JSON.stringify(expected));
  return waitFor(same, `every node holding ${JSON.stringify(expected)}`);
}

// The tests share one cluster and run in order: empty, seeded, then restarted.
test('without SEED_EXAMPLE_ROWS, a REPLICATION_NODES cluster starts and stays empty', async () => {
  await withServer({}, async (url) => {
    expect((await gql(url, '{ employees(first: 10) { id } }')).data!.employees).toEqual([]);
  });
  expect(await nodes.rowsEverywhere()).toEqual({ leader: [], 'follower-1': [] });
});

test('SEED_EXAMPLE_ROWS=true seeds 101 and 102 on every node of an empty cluster, so the README examples work', async () => {
  await withServer({ SEED_EXAMPLE_ROWS: 'true' }, async (url) => {
    await waitRowsEverywhere([JOHN, SAM]);
    const read = await gql(url, '{ employee(id: 101, readFrom: { node: "follower-1" }) { name salary } }');
    expect(read.data!.employee).toEqual({ name: 'John', salary: 285000 });
  });
});

test('a later start does not seed again: a deleted example row stays deleted', async () => {
  await withServer({ SEED_EXAMPLE_ROWS: 'true' }, async (url) => {
    const deleted = await gql(url, 'mutation { deleteEmployee(id: 101) { employee { id } } }');
    expect(deleted.data!.deleteEmployee.employee).toEqual({ id: 101 });
  });
  await waitRowsEverywhere([SAM]);
  // Seeding is done before start returns, so a second seed would already show on the leader.
  await withServer({ SEED_EXAMPLE_ROWS: 'true' });
  expect(await nodes.rowsEverywhere()).toEqual({ leader: [SAM], 'follower-1': [SAM] });
});

test('with every example row deleted and the log trimmed empty, a restart still does not seed', async () => {
  // 101 went in the test before; deleting 102 leaves no employee at all.
  await withServer({ SEED_EXAMPLE_ROWS: 'true', LOG_RETENTION: '1', HEALTH_INTERVAL_MS: '100' }, async (url) => {
    const deleted = await gql(url, 'mutation { deleteEmployee(id: 102) { employee { id } } }');
    expect(deleted.data!.deleteEmployee.employee).toEqual({ id: 102 });
    const logRows = async () => Number((await nodes.query<{ n: string }>('leader', 'SELECT count(*) AS n FROM syncrep_log'))[0].n);
    await waitFor(async () => (await logRows()) === 0, "the trimmer emptying the leader's log");
  });
  await waitRowsEverywhere([]);
  await withServer({ SEED_EXAMPLE_ROWS: 'true' });
  expect(await nodes.rowsEverywhere()).toEqual({ leader: [], 'follower-1': [] });
});
