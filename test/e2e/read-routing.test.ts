import 'reflect-metadata';
import type { Syncrep } from '../../src/app';
import { LocalNodes } from '../../harness/nodes';
import { errorCode, gql, startServer } from '../support/server';
import { waitAllInSync } from '../support/wait';

let nodes: LocalNodes;
let app: Syncrep;

beforeAll(async () => {
  nodes = await LocalNodes.start(2);
  app = await startServer(nodes);
  await gql(app.url, 'mutation { createEmployee(input: { id: 1, name: "Ada", salary: 10 }) { position } }');
});

afterAll(async () => {
  await app?.stop();
  await nodes?.stop();
});

const servedBy = async (readFrom: string) =>
  (await gql(app.url, `{ employee(id: 1${readFrom ? `, readFrom: ${readFrom}` : ''}) { id } }`)).extensions!.replication!.servedBy;

test('role LEADER reads the leader, role FOLLOWER a follower, and servedBy says which', async () => {
  expect(await servedBy('{ role: LEADER }')).toBe('leader');
  for (let i = 0; i < 4; i++) expect(['follower-1', 'follower-2']).toContain(await servedBy('{ role: FOLLOWER }'));
});

test('a named node is read, whatever the default would be', async () => {
  for (const node of ['leader', 'follower-1', 'follower-2']) expect(await servedBy(`{ node: "${node}" }`)).toBe(node);
});

test('default reads spread over the followers, never the leader while they are in sync', async () => {
  const counts: Record<string, number> = {};
  for (let i = 0; i < 20; i++) {
    const node = (await servedBy('')) as string;
    counts[node] = (counts[node] ?? 0) + 1;
  }
  expect(counts.leader).toBeUndefined();
  expect(counts['follower-1']).toBeGreaterThanOrEqual(5);
  expect(counts['follower-2']).toBeGreaterThanOrEqual(5);
});

test('employees pages by id with first and after', async () => {
  await gql(
    app.url,
    'mutation { createEmployees(inputs: [{ id: 2, name: "B", salary: 1 }, { id: 3, name: "C", salary: 1 }]) { position } }',
  );
  const page1 = await gql(app.url, '{ employees(first: 2, readFrom: { role: LEADER }) { id } }');
  expect(page1.data!.employees).toEqual([{ id: 1 }, { id: 2 }]);
  const page2 = await gql(app.url, '{ employees(first: 2, after: 2) { id } }');
  expect(page2.data!.employees).toEqual([{ id: 3 }]);
});

test('an unknown node, a role that does not match the node, or a bad first is refused, naming it', async () => {
  const unknown = await gql(app.url, '{ employee(id: 1, readFrom: { node: "nope" }) { id } }');
  expect(errorCode(unknown)).toBe('BAD_USER_INPUT');
  expect(unknown.errors![0].message).toContain('leader, follower-1, follower-2');
  expect(errorCode(await gql(app.url, '{ employee(id: 1, readFrom: { node: "leader", role: FOLLOWER }) { id } }'))).toBe('BAD_USER_INPUT');
  const tooMany = await gql(app.url, '{ employees(first: 1001) { id } }');
  expect(errorCode(tooMany)).toBe('BAD_USER_INPUT');
  expect(tooMany.errors![0].message).toContain('first must be at most 1000');
  // Far past the maximum, the query-cost check refuses it before validation of arguments.
  expect(errorCode(await gql(app.url, '{ employees(first: 100000) { id } }'))).toBe('GRAPHQL_VALIDATION_FAILED');
  expect(errorCode(await gql(app.url, '{ employees(first: 0) { id } }'))).toBe('BAD_USER_INPUT');
});

test('a follower that is down serves no reads: NODE_UNAVAILABLE when named, skipped by default', async () => {
  await nodes.node('follower-2').stop();
  try {
    const named = await gql(app.url, '{ employee(id: 1, readFrom: { node: "follower-2" }) { id } }');
    expect(errorCode(named)).toBe('NODE_UNAVAILABLE');
    for (let i = 0; i < 6; i++) {
      const read = await gql(app.url, '{ employee(id: 1) { id } }');
      expect(read.data!.employee).toEqual({ id: 1 });
      expect(read.extensions!.replication!.servedBy).toBe('follower-1');
    }
    const nodeList = await gql(app.url, '{ nodes { name role state } }');
    expect(nodeList.data!.nodes).toEqual([
      { name: 'leader', role: 'LEADER', state: 'UP' },
      { name: 'follower-1', role: 'FOLLOWER', state: 'IN_SYNC' },
      { name: 'follower-2', role: 'FOLLOWER', state: 'DOWN' },
    ]);
  } finally {
    await nodes.node('follower-2').start();
  }
  await waitAllInSync(app.url);
});

test('a mutation is served by the leader; one refused for its input reached no node (servedBy null)', async () => {
  const done = await gql(app.url, 'mutation { createEmployee(input: { id: 77, name: "Served", salary: 1 }) { position } }');
  expect(done.errors).toBeUndefined();
  expect(done.extensions?.replication?.servedBy).toBe('leader');
  const refused = await gql(app.url, 'mutation { createEmployee(input: { id: 78, name: "", salary: 1 }) { position } }');
  expect(refused.errors![0].extensions!.code).toBe('BAD_USER_INPUT');
  expect(refused.extensions?.replication?.servedBy).toBeNull();
  const failed = await gql(app.url, 'mutation { createEmployee(input: { id: 77, name: "Again", salary: 1 }) { position } }');
  expect(failed.errors![0].extensions!.code).toBe('ALREADY_EXISTS');
  expect(failed.extensions?.replication?.servedBy).toBe('leader');
});
