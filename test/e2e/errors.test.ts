import 'reflect-metadata';
import type { Syncrep } from '../../src/app';
import { TestNodes } from '../support/nodes';
import { errorCode, gql, startServer } from '../support/server';

let nodes: TestNodes;
let app: Syncrep;

beforeAll(async () => {
  nodes = await TestNodes.start(1);
  app = await startServer(nodes, { NODE_ENV: 'production' });
  await gql(app.url, 'mutation { createEmployee(input: { id: 1, name: "Ada", salary: 10 }) { position } }');
});

afterAll(async () => {
  await app?.stop();
  await nodes?.stop();
});

const CREATE = 'mutation ($input: CreateEmployeeInput!) { createEmployee(input: $input) { position } }';

test.each([
  [{ id: 0, name: 'A', salary: 1 }, 'input.id', 'id must be at least 1'],
  [{ id: 5, name: '', salary: 1 }, 'input.name', 'name must not be empty'],
  [{ id: 5, name: 'x'.repeat(201), salary: 1 }, 'input.name', 'at most 200 characters'],
  [{ id: 5, name: 'A', salary: -1 }, 'input.salary', 'salary must not be negative'],
])('invalid input %j is BAD_USER_INPUT naming %s, without echoing the input', async (input, field, rule) => {
  const result = await gql(app.url, CREATE, { input });
  expect(errorCode(result)).toBe('BAD_USER_INPUT');
  expect(result.errors![0].message).toContain(field);
  expect(result.errors![0].message).toContain(rule);
  expect(result.errors![0].extensions!.fields).toEqual([{ field, rules: [expect.stringContaining(rule)] }]);
  expect(JSON.stringify(result.errors)).not.toMatch(/"target"|"value"/);
  expect(await nodes.query('leader', 'SELECT id FROM emp WHERE id = 5')).toEqual([]);
});

test('more than the batch maximum, an empty batch or a repeated id is BAD_USER_INPUT', async () => {
  const MANY = 'mutation ($inputs: [CreateEmployeeInput!]!) { createEmployees(inputs: $inputs) { position } }';
  const tooMany = Array.from({ length: 10_001 }, (_, i) => ({ id: 100 + i, name: 'x', salary: 1 }));
  const result = await gql(app.url, MANY, { inputs: tooMany });
  expect(errorCode(result)).toBe('BAD_USER_INPUT');
  expect(result.errors![0].message).toContain('at most 10000');
  expect(errorCode(await gql(app.url, MANY, { inputs: [] }))).toBe('BAD_USER_INPUT');
  const repeated = await gql(app.url, MANY, { inputs: [{ id: 7, name: 'a', salary: 1 }, { id: 7, name: 'b', salary: 1 }] });
  expect(errorCode(repeated)).toBe('BAD_USER_INPUT');
  expect(repeated.errors![0].message).toContain('inputs[1].id');
  expect(await nodes.query('leader', 'SELECT count(*)::int AS n FROM emp')).toEqual([{ n: 1 }]);
});

test('an update with nothing to change is BAD_USER_INPUT', async () => {
  expect(errorCode(await gql(app.url, 'mutation { updateEmployee(id: 1, input: {}) { position } }'))).toBe('BAD_USER_INPUT');
});

test('an existing id is ALREADY_EXISTS; a missing one NOT_FOUND for update and delete', async () => {
  const exists = await gql(app.url, CREATE, { input: { id: 1, name: 'Again', salary: 1 } });
  expect(errorCode(exists)).toBe('ALREADY_EXISTS');
  expect(exists.errors![0].extensions!.id).toBe(1);
  expect(errorCode(await gql(app.url, 'mutation { updateEmployee(id: 42, input: { salary: 1 }) { position } }'))).toBe('NOT_FOUND');
  expect(errorCode(await gql(app.url, 'mutation { deleteEmployee(id: 42) { position } }'))).toBe('NOT_FOUND');
  expect(await nodes.query('follower-1', 'SELECT name FROM emp ORDER BY id')).toEqual([{ name: 'Ada' }]);
});

test('a missing employee reads as null, not an error', async () => {
  const result = await gql(app.url, '{ employee(id: 4242) { id } }');
  expect(result.errors).toBeUndefined();
  expect(result.data!.employee).toBeNull();
});

test('production mode: a malformed query says so, without stack traces', async () => {
  const result = await gql(app.url, '{ employee(id: "x") { id } }');
  expect(errorCode(result)).toBe('GRAPHQL_VALIDATION_FAILED');
  expect(JSON.stringify(result)).not.toContain('stacktrace');
});

test('production mode: an unexpected failure is masked as INTERNAL_SERVER_ERROR with no SQL or host', async () => {
  // A column the server does not expect makes the leader's INSERT fail in an unplanned way.
  await nodes.query('leader', 'ALTER TABLE emp ADD COLUMN surprise int NOT NULL DEFAULT 0 CHECK (surprise = 0)');
  await nodes.query('leader', 'ALTER TABLE emp ADD CONSTRAINT low_salary CHECK (salary < 1000000)');
  try {
    const result = await gql(app.url, CREATE, { input: { id: 9, name: 'Rich', salary: 2_000_000 } });
    expect(errorCode(result)).toBe('INTERNAL_SERVER_ERROR');
    expect(result.errors![0].message).toBe('Internal server error');
    expect(JSON.stringify(result)).not.toMatch(/low_salary|INSERT|127\.0\.0\.1|stacktrace/);
  } finally {
    await nodes.query('leader', 'ALTER TABLE emp DROP CONSTRAINT low_salary');
    await nodes.query('leader', 'ALTER TABLE emp DROP COLUMN surprise');
  }
  expect(await nodes.query('follower-1', 'SELECT id FROM emp WHERE id = 9')).toEqual([]);
});

test('a document past the query limits is refused before any node is read', async () => {
  const aliases = Array.from({ length: 16 }, (_, i) => `a${i}: employee(id: 1) { id }`).join(' ');
  const aliased = await gql(app.url, `{ ${aliases} }`);
  expect(errorCode(aliased)).toBe('GRAPHQL_VALIDATION_FAILED');
  expect(aliased.errors![0].message).toMatch(/aliases/i);
  expect(aliased.data).toBeUndefined();
  expect(aliased.extensions?.replication?.servedBy).toBeNull();
  const pages = Array.from({ length: 15 }, (_, i) => `p${i}: employees(first: 1000) { id name salary }`).join(' ');
  const costly = await gql(app.url, `{ ${pages} }`);
  expect(errorCode(costly)).toBe('GRAPHQL_VALIDATION_FAILED');
  expect(costly.errors![0].message).toMatch(/^Query Cost limit of 15000 exceeded/);
  const onePage = await gql(app.url, '{ employees(first: 1000) { id name salary } }');
  expect(onePage.errors).toBeUndefined();
});

test('Apollo Sandbox can introspect the schema', async () => {
  const { getIntrospectionQuery } = await import('graphql');
  const result = await gql(app.url, getIntrospectionQuery());
  expect(result.errors).toBeUndefined();
  expect(result.data!.__schema.queryType.name).toBe('Query');
});
