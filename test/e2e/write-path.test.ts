import 'reflect-metadata';
import type { Syncrep } from '../../src/app';
import { LocalNodes } from '../../harness/nodes';
import { errorCode, gql, startServer } from '../support/server';

const NODES = ['leader', 'follower-1', 'follower-2'];
let nodes: LocalNodes;
let app: Syncrep;

beforeAll(async () => {
  nodes = await LocalNodes.start(2);
  app = await startServer(nodes, { LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent' });
});

afterAll(async () => {
  await app?.stop();
  await nodes?.stop();
});

const CREATE = `mutation ($input: CreateEmployeeInput!) {
  createEmployee(input: $input) { position committedOn employee { id name salary } } }`;
const READ = `query ($id: Int!, $node: String) { employee(id: $id, readFrom: { node: $node }) { id name salary } }`;

test('the tutorial: John and Sam, created once, read back identical from every node by name', async () => {
  const john = await gql(app.url, CREATE, { input: { id: 101, name: 'John', salary: 285000 } });
  const sam = await gql(app.url, CREATE, { input: { id: 102, name: 'Sam', salary: 255000 } });
  expect(john.errors).toBeUndefined();
  expect(sam.errors).toBeUndefined();
  expect(john.data!.createEmployee.committedOn).toEqual(NODES);
  expect(sam.data!.createEmployee.position > john.data!.createEmployee.position).toBe(true);
  for (const node of NODES) {
    for (const [id, name, salary] of [
      [101, 'John', 285000],
      [102, 'Sam', 255000],
    ] as const) {
      const read = await gql(app.url, READ, { id, node });
      expect(read.data!.employee).toEqual({ id, name, salary });
      expect(read.extensions!.replication!.servedBy).toBe(node);
    }
  }
  const rows = await nodes.rowsEverywhere();
  expect(rows['follower-1']).toEqual(rows.leader);
  expect(rows['follower-2']).toEqual(rows.leader);
});

test('update and delete replicate to every node', async () => {
  expect((await gql(app.url, CREATE, { input: { id: 201, name: 'Ann', salary: 1000 } })).errors).toBeUndefined();
  const updated = await gql(
    app.url,
    'mutation { updateEmployee(id: 201, input: { name: "Anna", salary: 2000 }) { employee { id name salary } } }',
  );
  expect(updated.errors).toBeUndefined();
  expect(updated.data!.updateEmployee.employee).toEqual({ id: 201, name: 'Anna', salary: 2000 });
  for (const node of NODES) {
    expect((await nodes.query(node, 'SELECT name, salary FROM emp WHERE id = 201'))[0]).toEqual({ name: 'Anna', salary: 2000 });
  }
  const deleted = await gql(app.url, 'mutation { deleteEmployee(id: 201) { committedOn employee { id name } } }');
  expect(deleted.data!.deleteEmployee.employee).toEqual({ id: 201, name: 'Anna' });
  for (const node of NODES) expect(await nodes.query(node, 'SELECT 1 FROM emp WHERE id = 201')).toEqual([]);
});

test('createEmployees of 1,000 rows: all on every node, or with one bad row none anywhere', async () => {
  const inputs = Array.from({ length: 1000 }, (_, i) => ({ id: 10_000 + i, name: `E${i}`, salary: i }));
  const MANY = 'mutation ($inputs: [CreateEmployeeInput!]!) { createEmployees(inputs: $inputs) { committedOn employees { id } } }';

  const invalid = await gql(app.url, MANY, { inputs: inputs.map((x, i) => (i === 700 ? { ...x, salary: -5 } : x)) });
  expect(errorCode(invalid)).toBe('BAD_USER_INPUT');
  expect(invalid.errors![0].message).toContain('inputs[700].salary');
  expect(JSON.stringify(invalid)).not.toContain('E699');

  await gql(app.url, CREATE, { input: { id: 10_500, name: 'Taken', salary: 1 } });
  const duplicate = await gql(app.url, MANY, { inputs });
  expect(errorCode(duplicate)).toBe('ALREADY_EXISTS');
  expect(duplicate.errors![0].extensions!.id).toBe(10_500);
  for (const node of NODES) {
    expect(await nodes.query(node, 'SELECT id FROM emp WHERE id BETWEEN 10000 AND 10999')).toEqual([{ id: 10_500 }]);
  }

  await gql(app.url, 'mutation { deleteEmployee(id: 10500) { position } }');
  const ok = await gql(app.url, MANY, { inputs });
  expect(ok.errors).toBeUndefined();
  expect(ok.data!.createEmployees.employees).toHaveLength(1000);
  for (const node of NODES) {
    expect(await nodes.query(node, 'SELECT count(*)::int AS n FROM emp WHERE id BETWEEN 10000 AND 10999')).toEqual([{ n: 1000 }]);
  }
});

test('20 concurrent clients updating the same few rows leave every node identical', async () => {
  const ids = [301, 302, 303];
  for (const id of ids) await gql(app.url, CREATE, { input: { id, name: `Hot${id}`, salary: 0 } });
  const clients = Array.from({ length: 20 }, async (_, client) => {
    for (let i = 0; i < 15; i++) {
      const id = ids[(client + i) % ids.length];
      const result = await gql(
        app.url,
        'mutation ($id: Int!, $s: Int!, $n: String!) { updateEmployee(id: $id, input: { salary: $s, name: $n }) { position } }',
        {
          id,
          s: client * 100 + i,
          n: `c${client}-${i}`,
        },
      );
      expect(result.errors).toBeUndefined();
    }
  });
  const transfers = Array.from({ length: 5 }, async () => {
    for (let i = 0; i < 10; i++) await gql(app.url, 'mutation { transferSalary(fromId: 303, toId: 301, amount: 1) { position } }');
  });
  await Promise.all([...clients, ...transfers]);
  const rows = await nodes.rowsEverywhere();
  expect(rows['follower-1']).toEqual(rows.leader);
  expect(rows['follower-2']).toEqual(rows.leader);
  for (const node of NODES) expect(await nodes.prepared(node)).toEqual([]);
});

test('transferSalary moves salary atomically and refuses overdrafts', async () => {
  await gql(app.url, CREATE, { input: { id: 401, name: 'Payer', salary: 100 } });
  await gql(app.url, CREATE, { input: { id: 402, name: 'Payee', salary: 0 } });
  const ok = await gql(app.url, 'mutation { transferSalary(fromId: 401, toId: 402, amount: 60) { employees { id salary } } }');
  expect(ok.data!.transferSalary.employees).toEqual([
    { id: 401, salary: 40 },
    { id: 402, salary: 60 },
  ]);
  const overdraft = await gql(app.url, 'mutation { transferSalary(fromId: 401, toId: 402, amount: 41) { position } }');
  expect(errorCode(overdraft)).toBe('BAD_USER_INPUT');
  const missing = await gql(app.url, 'mutation { transferSalary(fromId: 401, toId: 499, amount: 1) { position } }');
  expect(errorCode(missing)).toBe('NOT_FOUND');
  for (const node of NODES) {
    expect(await nodes.query(node, 'SELECT id, salary FROM emp WHERE id IN (401, 402) ORDER BY id')).toEqual([
      { id: 401, salary: 40 },
      { id: 402, salary: 60 },
    ]);
  }
});
