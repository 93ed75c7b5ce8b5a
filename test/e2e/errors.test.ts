import 'reflect-metadata';
import type { Syncrep } from '../../src/app';
import { LocalNodes } from '../../harness/nodes';
import { errorCode, gql, startServer } from '../support/server';

let nodes: LocalNodes;
let app: Syncrep;

beforeAll(async () => {
  nodes = await LocalNodes.start(1);
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
  const repeated = await gql(app.url, MANY, {
    inputs: [
      { id: 7, name: 'a', salary: 1 },
      { id: 7, name: 'b', salary: 1 },
    ],
  });
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
  // A leader-only trigger fails the INSERT in a way no rule expects, with words that must not leak.
  await nodes.query(
    'leader',
    `CREATE FUNCTION surprise() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'low_salary: INSERT refused at 127.0.0.1'; END $$;
     CREATE TRIGGER surprise BEFORE INSERT ON emp FOR EACH ROW WHEN (NEW.salary >= 1000000) EXECUTE FUNCTION surprise()`,
  );
  try {
    const result = await gql(app.url, CREATE, { input: { id: 9, name: 'Rich', salary: 2_000_000 } });
    expect(errorCode(result)).toBe('INTERNAL_SERVER_ERROR');
    expect(result.errors![0].message).toBe('Internal server error');
    expect(JSON.stringify(result)).not.toMatch(/low_salary|INSERT|127\.0\.0\.1|stacktrace/);
  } finally {
    await nodes.query('leader', 'DROP TRIGGER surprise ON emp; DROP FUNCTION surprise()');
  }
  expect(await nodes.query('follower-1', 'SELECT id FROM emp WHERE id = 9')).toEqual([]);
});

test('values a CHECK constraint refuses are BAD_USER_INPUT naming the rule, and written nowhere', async () => {
  for (const node of ['leader', 'follower-1'])
    await nodes.query(node, 'ALTER TABLE emp ADD CONSTRAINT low_salary CHECK (salary < 1000000)');
  try {
    const result = await gql(app.url, CREATE, { input: { id: 9, name: 'Rich', salary: 2_000_000 } });
    expect(errorCode(result)).toBe('BAD_USER_INPUT');
    expect(result.errors![0].message).toBe('input: the values break the rule low_salary on employee; nothing was written');
  } finally {
    for (const node of ['leader', 'follower-1']) await nodes.query(node, 'ALTER TABLE emp DROP CONSTRAINT low_salary');
  }
  for (const node of ['leader', 'follower-1']) expect(await nodes.query(node, 'SELECT id FROM emp WHERE id = 9')).toEqual([]);
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

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The leader's highest written position: every distributed commit moves it, so an unchanged one means nothing was committed. */
/** The last replication position the leader handed out: a write that ran at all takes one. */
async function leaderPosition(): Promise<string> {
  // Read from the sequence: the log's highest entry can be trimmed away between two reads.
  const [{ last }] = await nodes.query<{ last: string }>('leader', 'SELECT last_value::text AS last FROM syncrep_position');
  return last;
}

const UPDATE = 'mutation ($id: Int!, $input: UpdateEmployeeInput!) { updateEmployee(id: $id, input: $input) { position } }';

describe.each([
  ['a NUL character', 'A\u0000B', 'name must not contain the NUL character (U+0000)'],
  ['a lone surrogate', 'Ann \uD800', 'name must be valid Unicode (no lone surrogate)'],
  ['only spaces', '   ', 'name must not be only whitespace'],
  ['only a tab and a newline', '\t\n', 'name must not be only whitespace'],
  ['only zero-width spaces and a BOM', '\u200B\u200B\uFEFF', 'name must not be only whitespace or invisible characters'],
  ['only Hangul fillers and a braille blank', '\u3164\uFFA0\u2800', 'name must not be only whitespace or invisible characters'],
  ['only combining marks', '\u0301\u0308', 'name must not be only whitespace or invisible characters'],
])('a name with %s', (_what, name, rule) => {
  test('is BAD_USER_INPUT for createEmployee, naming input.name and the rule; nothing is written', async () => {
    const before = await leaderPosition();
    const result = await gql(app.url, CREATE, { input: { id: 30, name, salary: 1 } });
    expect(errorCode(result)).toBe('BAD_USER_INPUT');
    expect(result.errors![0].extensions!.fields).toEqual([{ field: 'input.name', rules: [expect.stringContaining(rule)] }]);
    expect(result.errors![0].message).toContain(`input.name: ${rule}`);
    for (const node of ['leader', 'follower-1']) expect(await nodes.query(node, 'SELECT id FROM emp WHERE id = 30')).toEqual([]);
    expect(await leaderPosition()).toBe(before);
  });

  test('is BAD_USER_INPUT for updateEmployee, naming input.name and the rule; nothing is written', async () => {
    const before = await leaderPosition();
    const result = await gql(app.url, UPDATE, { id: 1, input: { name } });
    expect(errorCode(result)).toBe('BAD_USER_INPUT');
    expect(result.errors![0].extensions!.fields).toEqual([{ field: 'input.name', rules: [expect.stringContaining(rule)] }]);
    for (const node of ['leader', 'follower-1']) {
      expect(await nodes.query(node, 'SELECT name FROM emp WHERE id = 1')).toEqual([{ name: 'Ada' }]);
    }
    expect(await leaderPosition()).toBe(before);
  });

  test('in readFrom.node is BAD_USER_INPUT naming readFrom.node; no node is read', async () => {
    const result = await gql(app.url, 'query ($node: String!) { employee(id: 1, readFrom: { node: $node }) { id } }', { node: name });
    expect(errorCode(result)).toBe('BAD_USER_INPUT');
    expect(result.errors![0].extensions!.fields).toEqual([
      { field: 'readFrom.node', rules: ['node must be a node name as listed by the nodes query'] },
    ]);
    expect(result.extensions?.replication?.servedBy).toBeNull();
  });
});

test('a name with a whole surrogate pair, inner spaces and accents (one a combining mark), and Hangul is stored as sent on every node', async () => {
  const name = '😀 Zoë  Ng Jose\u0301 한글';
  const result = await gql(app.url, CREATE, { input: { id: 31, name, salary: 1 } });
  expect(result.errors).toBeUndefined();
  for (const node of ['leader', 'follower-1']) expect(await nodes.query(node, 'SELECT name FROM emp WHERE id = 31')).toEqual([{ name }]);
});

test('every hand-raised BAD_USER_INPUT has the validation shape: extensions.fields, no extensions.field', async () => {
  await gql(app.url, CREATE, { input: { id: 40, name: 'Full', salary: 2_147_483_647 } });
  await gql(app.url, CREATE, { input: { id: 41, name: 'Some', salary: 5 } });
  const MANY = 'mutation ($inputs: [CreateEmployeeInput!]!) { createEmployees(inputs: $inputs) { position } }';
  // [what, operation, variables, field, part of the rule]
  const cases: [string, string, Record<string, unknown>, string, string][] = [
    [
      'repeated id',
      MANY,
      {
        inputs: [
          { id: 42, name: 'a', salary: 1 },
          { id: 42, name: 'b', salary: 1 },
        ],
      },
      'inputs[1].id',
      'appears more than once',
    ],
    [
      'empty update',
      'mutation { updateEmployee(id: 1, input: {}) { position } }',
      {},
      'input',
      'give name, salary, departmentId or several',
    ],
    ['fromId == toId', 'mutation { transferSalary(fromId: 41, toId: 41, amount: 1) { position } }', {}, 'toId', 'must differ from fromId'],
    [
      'unknown readFrom.node',
      '{ employee(id: 1, readFrom: { node: "nope" }) { id } }',
      {},
      'readFrom.node',
      'known nodes: leader, follower-1',
    ],
    [
      'wrong role for the node',
      '{ employee(id: 1, readFrom: { node: "leader", role: FOLLOWER }) { id } }',
      {},
      'readFrom.role',
      'is the leader, not a follower',
    ],
    [
      'overdraft',
      'mutation { transferSalary(fromId: 41, toId: 1, amount: 6) { position } }',
      {},
      'amount',
      'has only 5, cannot transfer 6',
    ],
    ['overflow', 'mutation { transferSalary(fromId: 41, toId: 40, amount: 1) { position } }', {}, 'amount', 'would exceed the largest Int'],
  ];
  // Every case is run before comparing, so a failure lists each case that is off, not just the first.
  const seen = [];
  for (const [what, operation, variables] of cases) {
    const error = (await gql(app.url, operation, variables)).errors?.[0];
    const { code, fields, field } = error?.extensions ?? {};
    seen.push({ what, code, fields, field, message: error?.message });
  }
  expect(seen).toEqual(
    cases.map(([what, , , field, rule]) => ({
      what,
      code: 'BAD_USER_INPUT',
      fields: [{ field, rules: [expect.stringContaining(rule)] }],
      field: undefined,
      message: expect.stringMatching(new RegExp(`^${escapeRegExp(field)}: .*${escapeRegExp(rule)}`)),
    })),
  );
  for (const node of ['leader', 'follower-1']) {
    expect(await nodes.query(node, 'SELECT id, salary FROM emp WHERE id IN (1, 40, 41, 42) ORDER BY id')).toEqual([
      { id: 1, salary: 10 },
      { id: 40, salary: 2_147_483_647 },
      { id: 41, salary: 5 },
    ]);
  }
});

test('a transfer between a missing employee and one at the largest salary is NOT_FOUND naming the missing one, not an overflow', async () => {
  await gql(app.url, CREATE, { input: { id: 43, name: 'Max', salary: 2_147_483_647 } });
  for (const [from, to, missing] of [
    [999_999, 43, 999_999],
    [43, 999_998, 999_998],
  ]) {
    const result = await gql(app.url, `mutation { transferSalary(fromId: ${from}, toId: ${to}, amount: 1) { position } }`);
    expect(errorCode(result)).toBe('NOT_FOUND');
    expect(result.errors![0].extensions!.id).toBe(missing);
  }
  for (const node of ['leader', 'follower-1'])
    expect(await nodes.query(node, 'SELECT salary FROM emp WHERE id = 43')).toEqual([{ salary: 2_147_483_647 }]);
});

test('in production, introspection is refused (INTROSPECTION=true turns it back on: see production-defaults)', async () => {
  const { getIntrospectionQuery } = await import('graphql');
  const result = await gql(app.url, getIntrospectionQuery());
  expect(errorCode(result)).toBe('GRAPHQL_VALIDATION_FAILED');
  expect(result.errors![0].message).toMatch(/introspection/i);
  expect(result.data ?? null).toBeNull();
});

test('a persisted query whose hash does not match its text is a client error, not a masked server error', async () => {
  const response = await fetch(app.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'apollo-require-preflight': 'true' },
    body: JSON.stringify({ query: '{ __typename }', extensions: { persistedQuery: { version: 1, sha256Hash: 'f'.repeat(64) } } }),
  });
  const body = (await response.json()) as { errors?: { message: string; extensions?: { code?: string } }[] };
  expect(response.status).toBe(400);
  expect(body.errors![0].extensions!.code).not.toBe('INTERNAL_SERVER_ERROR');
  expect(body.errors![0].message).toMatch(/sha|hash/i);
});
