import 'reflect-metadata';
import type { Syncrep } from '../../src/app';
import { LocalNodes } from '../../harness/nodes';
import { errorCode, gql, startServer } from '../support/server';

/**
 * Issue 8's repro: concurrent good writes with a few NUL-bearing ones among them. The NUL ones
 * once made the leader undo a neighbour's write that the followers still applied.
 */
let nodes: LocalNodes;
let app: Syncrep;

beforeAll(async () => {
  nodes = await LocalNodes.start(2);
  app = await startServer(nodes);
});

afterAll(async () => {
  await app?.stop();
  await nodes?.stop();
});

const CREATE = 'mutation ($input: CreateEmployeeInput!) { createEmployee(input: $input) { position } }';
const UPDATE = 'mutation ($id: Int!, $input: UpdateEmployeeInput!) { updateEmployee(id: $id, input: $input) { position } }';
const range = (from: number, n: number) => Array.from({ length: n }, (_, k) => from + k);

async function expectIdenticalNodes(): Promise<void> {
  const leader = await nodes.rows('leader');
  for (const follower of ['follower-1', 'follower-2']) expect(await nodes.rows(follower)).toEqual(leader);
  for (const node of ['leader', 'follower-1', 'follower-2']) expect(await nodes.prepared(node)).toEqual([]);
}

test('40 concurrent creates with 5 NUL names among them: every good one is on every node, no NUL one anywhere', async () => {
  const good = range(200, 40).map((id) => gql(app.url, CREATE, { input: { id, name: 'good', salary: 1 } }));
  const bad = range(240, 5).map((id) => gql(app.url, CREATE, { input: { id, name: 'bad\u0000', salary: 1 } }));
  for (const result of await Promise.all(good)) expect(result.errors).toBeUndefined();
  for (const result of await Promise.all(bad)) expect(errorCode(result)).toBe('BAD_USER_INPUT');
  for (const node of ['leader', 'follower-1', 'follower-2']) {
    expect((await nodes.rows(node)).map((r) => r.id)).toEqual(range(200, 40));
  }
  await expectIdenticalNodes();
});

test('concurrent updates with NUL names among them: every acknowledged salary is on every node', async () => {
  const good = range(200, 40).map((id) => gql(app.url, UPDATE, { id, input: { salary: 1000 + id } }));
  const bad = range(200, 40)
    .filter((id) => id % 8 === 3)
    .map((id) => gql(app.url, UPDATE, { id, input: { name: 'x\u0000' } }));
  for (const result of await Promise.all(good)) expect(result.errors).toBeUndefined();
  for (const result of await Promise.all(bad)) expect(errorCode(result)).toBe('BAD_USER_INPUT');
  for (const node of ['leader', 'follower-1', 'follower-2']) {
    expect(await nodes.rows(node)).toEqual(range(200, 40).map((id) => ({ id, name: 'good', salary: 1000 + id })));
  }
  await expectIdenticalNodes();
  // Every row is still writable: none was left different on the leader.
  for (const result of await Promise.all(range(200, 40).map((id) => gql(app.url, UPDATE, { id, input: { salary: 1 } })))) {
    expect(result.errors).toBeUndefined();
  }
  await expectIdenticalNodes();
});
