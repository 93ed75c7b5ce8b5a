import 'reflect-metadata';
import { Client } from 'pg';
import type { Syncrep } from '../../src/app';
import { LocalNodes } from '../../harness/nodes';
import { errorCode, gql, startServer } from '../support/server';

let nodes: LocalNodes;
let writer: Syncrep;
let reader: Syncrep;
let lock: Client | undefined;
let P = '';
let D = 0;
const QUORUM = { SYNC_MODE: 'quorum', SYNC_QUORUM: '1' };

beforeAll(async () => {
  nodes = await LocalNodes.start(2);
  writer = await startServer(nodes, { ...QUORUM, DB_TIMEOUT_MS: '2000' });
  reader = await startServer(nodes, { ...QUORUM, HEALTH_INTERVAL_MS: '3600000', READ_WAIT_MS: '500' });
  const dep = await gql(writer.url, 'mutation { createDepartment(input: { name: "D" }) { department { id } } }');
  D = dep.data!.createDepartment.department.id;
  const e1 = await gql(writer.url, `mutation { createEmployee(input: { id: 1, name: "A", salary: 1, departmentId: ${D} }) { position } }`);
  expect(e1.errors).toBeUndefined();
  lock = new Client({ connectionString: nodes.node('follower-2').url });
  lock.on('error', () => undefined);
  await lock.connect();
  await lock.query('BEGIN');
  await lock.query('LOCK TABLE emp IN EXCLUSIVE MODE');
  const w = await gql(writer.url, `mutation { createEmployee(input: { id: 2, name: "B", salary: 2, departmentId: ${D} }) { position committedOn } }`);
  expect(w.data!.createEmployee.committedOn).toEqual(['leader', 'follower-1']);
  P = w.data!.createEmployee.position;
});

afterAll(async () => {
  await lock?.end().catch(() => undefined);
  for (const app of [writer, reader]) await app?.stop();
  await nodes?.stop();
});

const shapes: [string, string][] = [
  ['by id present', 'employee(id: 2, READ) { id }'],
  ['by id old row', 'employee(id: 1, READ) { id }'],
  ['by id missing', 'employee(id: 999999, READ) { id }'],
  ['by id max int', 'employee(id: 2147483647, READ) { id }'],
  ['page', 'employees(first: 1, READ) { id }'],
  ['page after end', 'employees(first: 1, after: 2147483647, READ) { id }'],
  ['page after 1', 'employees(first: 1000, after: 1, READ) { id }'],
  ['dept nested', `department(id: DEP, READ) { id employees { id } }`],
  ['dept missing nested', `department(id: 424242, READ) { id employees { id } }`],
  ['emp.department', 'employee(id: 2, READ) { id department { id name employees { id } } }'],
  ['emp missing.department', 'employee(id: 77777, READ) { id department { id } }'],
  ['departments after end nested', 'departments(after: 2147483647, READ) { id employees { id } }'],
  ['departments nested', 'departments(READ) { id employees { id department { id } } }'],
];

test.each(shapes)('atLeast pinned to the lagging follower-2: %s never served', async (_n, shape) => {
  const q = `{ ${shape.replace('READ', `readFrom: { node: "follower-2", atLeast: "${P}" }`).replace('DEP', String(D))} }`;
  const r = await gql(reader.url, q);
  expect([q, errorCode(r), r.data]).toEqual([q, 'POSITION_NOT_REACHED', null]);
});

test.each(shapes)('atLeast, any node: %s served and sees the write', async (_n, shape) => {
  const q = `{ ${shape.replace('READ', `readFrom: { atLeast: "${P}" }`).replace('DEP', String(D))} }`;
  const r = await gql(reader.url, q);
  expect([q, r.errors]).toEqual([q, undefined]);
  const text = JSON.stringify(r.data);
  console.log(q, text, JSON.stringify(r.extensions));
  expect(r.extensions?.replication?.servedBy).not.toContain('follower-2');
});

test('odd positions', async () => {
  for (const at of ['0', '00000000000000000000', '9223372036854775807', '99999999999999999999', '-1', '1e3', ' 1']) {
    const r = await gql(reader.url, `{ employee(id: 2, readFrom: { node: "follower-2", atLeast: "${at}" }) { id } }`);
    console.log('atLeast', JSON.stringify(at), errorCode(r), JSON.stringify(r.data), r.errors?.[0]?.message?.slice(0, 120));
  }
});
