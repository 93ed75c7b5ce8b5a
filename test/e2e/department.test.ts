import 'reflect-metadata';
import type { Syncrep } from '../../src/app';
import { LocalNodes } from '../../harness/nodes';
import { ADMIN_HEADERS, TEST_ADMIN_TOKEN, errorCode, gql, startServer } from '../support/server';
import { waitFor } from '../support/wait';

/**
 * The department contract, end to end on a leader and two followers: generated ids, foreign keys
 * with coded errors, a two-table atomic write, nested reads served by one node, and both tables
 * through a rebuild and a promotion.
 */
let nodes: LocalNodes;
let app: Syncrep;
const NODES = ['leader', 'follower-1', 'follower-2'];

beforeAll(async () => {
  nodes = await LocalNodes.start(2);
  app = await startServer(nodes, { ADMIN_TOKEN: TEST_ADMIN_TOKEN, LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent' });
});

afterAll(async () => {
  await app?.stop();
  await nodes?.stop();
});

const CREATE_DEPARTMENT =
  'mutation ($name: String!) { createDepartment(input: { name: $name }) { position committedOn department { id name employees { id } } } }';
const WITH_EMPLOYEES = `mutation ($input: CreateDepartmentWithEmployeesInput!) {
  createDepartmentWithEmployees(input: $input) { position department { id name employees { id name departmentId } } }
}`;
const CREATE_EMPLOYEE =
  'mutation ($input: CreateEmployeeInput!) { createEmployee(input: $input) { employee { id departmentId department { id name } } } }';

/** Both tables on every node must be identical, with nothing left prepared; returns the leader's. */
async function identical(): Promise<{ departments: unknown[]; employees: unknown[] }> {
  const read = (node: string) =>
    Promise.all([
      nodes.query(node, 'SELECT id, name FROM department ORDER BY id'),
      nodes.query(node, 'SELECT id, name, salary, department_id FROM emp ORDER BY id'),
    ]);
  const [departments, employees] = await read('leader');
  for (const node of NODES.slice(1)) {
    expect(await read(node)).toEqual([departments, employees]);
    expect(await nodes.prepared(node)).toEqual([]);
  }
  return { departments, employees };
}

/** Where each node's department sequence stands. */
const sequenceOn = async (node: string) =>
  Number(
    (
      await nodes.query<{ v: string | null }>(node, "SELECT pg_sequence_last_value(pg_get_serial_sequence('department', 'id'))::text AS v")
    )[0].v ?? 0,
  );

test('a department gets a generated id on every node, and every node’s sequence keeps up with it', async () => {
  const created = await gql(app.url, CREATE_DEPARTMENT, { name: 'Sales' });
  expect(created.errors).toBeUndefined();
  const { id } = created.data!.createDepartment.department;
  expect(created.data!.createDepartment).toMatchObject({ committedOn: NODES, department: { name: 'Sales', employees: [] } });
  expect((await identical()).departments).toEqual([{ id, name: 'Sales' }]);
  for (const node of NODES) expect(await sequenceOn(node)).toBeGreaterThanOrEqual(id);
});

test('a duplicate name is ALREADY_EXISTS; an unknown departmentId is REFERENCE_NOT_FOUND; nothing is written', async () => {
  const before = await identical();
  const duplicate = await gql(app.url, CREATE_DEPARTMENT, { name: 'Sales' });
  expect(errorCode(duplicate)).toBe('ALREADY_EXISTS');
  expect(duplicate.errors![0].message).toBe('department with name Sales already exists; nothing was written');
  const unknown = await gql(app.url, CREATE_EMPLOYEE, { input: { id: 500, name: 'Lost', salary: 1, departmentId: 9999 } });
  expect(errorCode(unknown)).toBe('REFERENCE_NOT_FOUND');
  expect(unknown.errors![0].message).toBe(
    'employee refers to department with departmentId 9999, which does not exist; nothing was written',
  );
  expect(await identical()).toEqual(before);
});

test('createDepartmentWithEmployees writes the department and each employee in one atomic write, or nothing', async () => {
  const input = { name: 'Ops', employees: [1, 2, 3].map((i) => ({ id: 600 + i, name: `O${i}`, salary: 10 * i })) };
  const made = await gql(app.url, WITH_EMPLOYEES, { input });
  expect(made.errors).toBeUndefined();
  const department = made.data!.createDepartmentWithEmployees.department;
  expect(department.employees).toEqual(input.employees.map((e) => ({ id: e.id, name: e.name, departmentId: department.id })));
  const positions = await nodes.query('leader', 'SELECT count(*)::int AS n FROM syncrep_log WHERE position = $1', [
    made.data!.createDepartmentWithEmployees.position,
  ]);
  expect(positions).toEqual([{ n: 1 }]);

  // One employee id is taken: the department and the other employees are written nowhere.
  const before = await identical();
  const clash = await gql(app.url, WITH_EMPLOYEES, {
    input: {
      name: 'Half',
      employees: [
        { id: 700, name: 'New', salary: 1 },
        { id: 601, name: 'Taken', salary: 1 },
      ],
    },
  });
  expect(errorCode(clash)).toBe('ALREADY_EXISTS');
  expect(await identical()).toEqual(before);
  const repeated = await gql(app.url, WITH_EMPLOYEES, {
    input: {
      name: 'Twice',
      employees: [
        { id: 800, name: 'A', salary: 1 },
        { id: 800, name: 'B', salary: 1 },
      ],
    },
  });
  expect(errorCode(repeated)).toBe('BAD_USER_INPUT');
  const own = await gql(app.url, WITH_EMPLOYEES, {
    input: { name: 'Own', employees: [{ id: 801, name: 'A', salary: 1, departmentId: department.id }] },
  });
  expect(errorCode(own)).toBe('BAD_USER_INPUT');
  expect(await identical()).toEqual(before);
});

test('a department still referred to is STILL_REFERENCED; moved out (departmentId: null), it can be deleted', async () => {
  const made = await gql(app.url, WITH_EMPLOYEES, { input: { name: 'Gone', employees: [{ id: 900, name: 'Last', salary: 1 }] } });
  const { id } = made.data!.createDepartmentWithEmployees.department;
  const before = await identical();
  const refused = await gql(app.url, `mutation { deleteDepartment(id: ${id}) { position } }`);
  expect(errorCode(refused)).toBe('STILL_REFERENCED');
  expect(refused.errors![0].message).toBe(
    `department with id ${id} is still referred to by employee rows; change or delete those first (nothing was written)`,
  );
  expect(await identical()).toEqual(before);
  const moved = await gql(
    app.url,
    'mutation { updateEmployee(id: 900, input: { departmentId: null }) { employee { departmentId department { id } } } }',
  );
  expect(moved.data?.updateEmployee.employee).toEqual({ departmentId: null, department: null });
  const deleted = await gql(app.url, `mutation { deleteDepartment(id: ${id}) { department { id name } } }`);
  expect(deleted.data?.deleteDepartment.department).toEqual({ id, name: 'Gone' });
  expect((await identical()).departments).not.toContainEqual({ id, name: 'Gone' });
  const renamed = await gql(app.url, `mutation { updateDepartment(id: ${id}, input: { name: "x" }) { position } }`);
  expect(errorCode(renamed)).toBe('NOT_FOUND');
});

test('a nested read pinned to a follower is served there alone, in one snapshot, parents and children alike', async () => {
  const query = `{
    departments(readFrom: { node: "follower-2" }) { name employees { id department { name } } }
    employee(id: 601, readFrom: { node: "follower-2" }) { id department { name employees { id } } }
  }`;
  const read = await gql(app.url, query);
  expect(read.errors).toBeUndefined();
  expect(read.extensions?.replication?.servedBy).toBe('follower-2');
  const ops = (read.data!.departments as { name: string; employees: { id: number; department: { name: string } }[] }[]).find(
    (d) => d.name === 'Ops',
  )!;
  expect(ops.employees.map((e) => e.id)).toEqual([601, 602, 603]);
  for (const e of ops.employees) expect(e.department).toEqual({ name: 'Ops' });
  expect(read.data!.employee).toEqual({ id: 601, department: { name: 'Ops', employees: [{ id: 601 }, { id: 602 }, { id: 603 }] } });
});

test('resyncNode rebuilds a follower holding both tables, sequence included', async () => {
  await nodes.query('follower-1', "SELECT setval(pg_get_serial_sequence('department', 'id'), 1)");
  const rebuilt = await gql(app.url, 'mutation { resyncNode(node: "follower-1") { state } }', {}, ADMIN_HEADERS);
  expect(rebuilt.errors).toBeUndefined();
  expect(rebuilt.data!.resyncNode.state).toBe('IN_SYNC');
  await identical();
  expect(await sequenceOn('follower-1')).toBe(await sequenceOn('leader'));
});

test('nesting is bounded: deeper than two levels in a read, or one in a payload, is BAD_USER_INPUT before anything runs', async () => {
  const deep = await gql(app.url, '{ departments { employees { department { employees { id } } } } }');
  expect(errorCode(deep)).toBe('BAD_USER_INPUT');
  expect(deep.errors![0].message).toContain('nest employees and department at most 2 level(s) deep under departments');
  const before = await identical();
  const payload = await gql(
    app.url,
    'mutation { createDepartmentWithEmployees(input: { name: "Deep", employees: [{ id: 990, name: "D", salary: 1 }] }) { department { employees { department { id } } } } }',
  );
  expect(errorCode(payload)).toBe('BAD_USER_INPUT');
  expect(await identical()).toEqual(before);
});

test('a read whose nested fields would return too many objects is refused, named; a payload reads its nested rows in one go', async () => {
  const many = Array.from({ length: 400 }, (_, i) => ({ id: 2000 + i, name: `M${i}`, salary: 1 }));
  const made = await gql(app.url, WITH_EMPLOYEES.replace('employees { id name departmentId }', 'employees { id }'), {
    input: { name: 'Many', employees: many },
  });
  expect(made.errors).toBeUndefined();
  // 400 employees, each listing its department's 400 employees: 160,400 objects.
  const wide = await gql(app.url, '{ employees(first: 1000, after: 1999) { id department { employees { id } } } }');
  expect(wide.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
  expect(wide.errors![0].message).toContain('the nested fields would return more than 100000 objects');
  // The read's own refusal: no node is taken out of service for it.
  const states = (await gql(app.url, '{ nodes { state } }')).data!.nodes as { state: string }[];
  expect(states.every((n) => n.state === 'UP' || n.state === 'IN_SYNC')).toBe(true);
  const transfer = await gql(
    app.url,
    'mutation { transferSalary(fromId: 2000, toId: 2001, amount: 1) { employees { id department { name } } } }',
  );
  expect(transfer.data?.transferSalary.employees).toEqual([
    { id: 2000, department: { name: 'Many' } },
    { id: 2001, department: { name: 'Many' } },
  ]);
});

test('after a promotion, new departments get ids above every id used', async () => {
  // Made after the rebuild above: the promoted follower's sequence moved with these applies alone.
  for (const name of ['Late 1', 'Late 2']) expect((await gql(app.url, CREATE_DEPARTMENT, { name })).errors).toBeUndefined();
  const { departments } = await identical();
  const used = Math.max(...(departments as { id: number }[]).map((d) => d.id));
  nodes.node('leader').signalAll('SIGKILL');
  await waitFor(async () => (await gql(app.url, '{ nodes { name state } }')).data!.nodes[0].state === 'DOWN', 'the leader seen DOWN');
  const promoted = await gql(app.url, 'mutation { promote(node: "follower-1") { leader } }', {}, ADMIN_HEADERS);
  expect(promoted.errors).toBeUndefined();
  const created = await gql(app.url, CREATE_DEPARTMENT, { name: 'After' });
  expect(created.errors).toBeUndefined();
  expect(created.data!.createDepartment.department.id).toBeGreaterThan(used);
  const onFollowers = ['follower-1', 'follower-2'].map((n) => nodes.query(n, 'SELECT id, name FROM department ORDER BY id'));
  const [one, two] = await Promise.all(onFollowers);
  expect(two).toEqual(one);
});
