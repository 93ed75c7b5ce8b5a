import 'reflect-metadata';
import type { Syncrep } from '../../src/app';
import { LocalNodes } from '../../harness/nodes';
import { ADMIN_HEADERS, TEST_ADMIN_TOKEN, errorCode, gql, startServer } from '../support/server';
import { waitFor } from '../support/wait';

/** A follower whose replicated tables are not defined as the leader's takes no part: at startup and on every rejoin. */
let nodes: LocalNodes;
let app: Syncrep | undefined;

beforeAll(async () => {
  nodes = await LocalNodes.start(2);
  await (await startServer(nodes)).stop(); // the migrations have run everywhere
});

afterAll(async () => {
  await app?.stop();
  await nodes?.stop();
});

type NodeView = { name: string; state: string; lastError: string | null };
const view = async (url: string, name: string) =>
  ((await gql(url, '{ nodes { name state lastError } }', {}, ADMIN_HEADERS)).data!.nodes as NodeView[]).find((n) => n.name === name)!;

test('a column added behind the server’s back on one follower keeps it out, named; dropped again, it rejoins', async () => {
  await nodes.query('follower-1', 'ALTER TABLE emp ADD COLUMN nickname text');
  app = await startServer(nodes, { HEALTH_INTERVAL_MS: '200', ADMIN_TOKEN: TEST_ADMIN_TOKEN });
  await waitFor(async () => (await view(app!.url, 'follower-1')).lastError !== null, 'follower-1 refused with a reason');
  const refused = await view(app.url, 'follower-1');
  expect(refused.state).not.toBe('IN_SYNC');
  expect(refused.lastError).toContain('table emp, column nickname (number 5): here only');

  // Served by nobody, written without it, the rest of the cluster goes on.
  const pinned = await gql(app.url, '{ employee(id: 1, readFrom: { node: "follower-1" }) { id } }');
  expect(errorCode(pinned)).toBe('NODE_UNAVAILABLE');
  const written = await gql(app.url, 'mutation { createEmployee(input: { id: 1, name: "Ada", salary: 1 }) { committedOn } }');
  expect(written.data?.createEmployee.committedOn).toEqual(['leader', 'follower-2']);
  expect(await nodes.query('follower-1', 'SELECT id FROM emp')).toEqual([]);

  await nodes.query('follower-1', 'ALTER TABLE emp DROP COLUMN nickname');
  await waitFor(async () => (await view(app!.url, 'follower-1')).state === 'IN_SYNC', 'follower-1 back in sync');
  expect(await nodes.query('follower-1', 'SELECT id, name FROM emp')).toEqual([{ id: 1, name: 'Ada' }]);
});

test('a unique index or a CHECK constraint on one follower only keeps it out too, named', async () => {
  await nodes.query('follower-2', 'CREATE UNIQUE INDEX emp_name_unique ON emp (name)');
  await nodes.query('follower-2', 'ALTER TABLE department ADD CONSTRAINT short_name CHECK (length(name) < 10)');
  await app!.stop();
  app = await startServer(nodes, { HEALTH_INTERVAL_MS: '200', ADMIN_TOKEN: TEST_ADMIN_TOKEN });
  await waitFor(async () => (await view(app!.url, 'follower-2')).lastError !== null, 'follower-2 refused with a reason');
  const refused = await view(app.url, 'follower-2');
  expect(refused.state).not.toBe('IN_SYNC');
  expect(refused.lastError).toContain('table emp: UNIQUE INDEX USING btree (name) here only');
  expect(refused.lastError).toContain('table department: CHECK ((length(name) < 10)) here only');
  await nodes.query('follower-2', 'DROP INDEX emp_name_unique; ALTER TABLE department DROP CONSTRAINT short_name');
  await waitFor(async () => (await view(app!.url, 'follower-2')).state === 'IN_SYNC', 'follower-2 back in sync');
});
