import 'reflect-metadata';
import { GraphQLError } from 'graphql';
import { DatabaseError } from 'pg';
import { DataSource } from 'typeorm';
import { Department } from '../../src/department/department.entity';
import { Employee } from '../../src/employee/employee.entity';
import type { Write } from '../../src/replication/entities/write-tx';
import { mutationFailure } from '../../src/replication/write/mutation-failure';

/**
 * What a client is told when the leader refused a write's statement: the coded error for each
 * kind of refusal, worded with entity and property names. Errors are built as pg builds them; the
 * entity metadata is TypeORM's own, built without a connection.
 */
let dataSource: DataSource;
const logged: object[] = [];
const log = { error: (entry: object) => logged.push(entry) } as never;
const write: Write<unknown> = { name: 'test write', run: async () => undefined };

beforeAll(async () => {
  dataSource = new DataSource({ type: 'postgres', entities: [Employee, Department] });
  // The metadata initialize() would build, without connecting (the postgres driver connects only in initialize()).
  await (dataSource as unknown as { buildMetadatas(): Promise<void> }).buildMetadatas();
});

function refusal(code: string, fields: Partial<DatabaseError> = {}): DatabaseError {
  const error = new DatabaseError('refused', 0, 'error');
  return Object.assign(error, { severity: 'ERROR', code, ...fields });
}

const told = (error: unknown) => {
  const failure = mutationFailure(write, error, dataSource, log);
  return failure && { message: failure.message, extensions: failure.extensions };
};

test('a duplicate key is ALREADY_EXISTS, named by entity and property', () => {
  expect(told(refusal('23505', { table: 'department', detail: 'Key (name)=(Sales) already exists.' }))).toEqual({
    message: 'department with name Sales already exists; nothing was written',
    extensions: { code: 'ALREADY_EXISTS', table: 'department', fields: ['name'] },
  });
});

test('a reference to a missing row is REFERENCE_NOT_FOUND; deleting a row still referred to is STILL_REFERENCED', () => {
  expect(told(refusal('23503', { table: 'emp', detail: 'Key (department_id)=(99) is not present in table "department".' }))).toEqual({
    message: 'employee refers to department with departmentId 99, which does not exist; nothing was written',
    extensions: { code: 'REFERENCE_NOT_FOUND', table: 'emp', references: 'department', fields: ['departmentId'] },
  });
  expect(told(refusal('23503', { table: 'emp', detail: 'Key (id)=(5) is still referenced from table "emp".' }))).toEqual({
    message: 'department with id 5 is still referred to by employee rows; change or delete those first (nothing was written)',
    extensions: { code: 'STILL_REFERENCED', table: 'department', referencedBy: 'emp', fields: ['id'] },
  });
});

test('a missing value, a broken check and an unstorable value are BAD_USER_INPUT saying what to fix', () => {
  expect(told(refusal('23502', { table: 'emp', column: 'name' }))?.extensions).toMatchObject({
    code: 'BAD_USER_INPUT',
    fields: [{ field: 'name', rules: ['a value is required (employee does not allow null here); nothing was written'] }],
  });
  expect(told(refusal('23514', { table: 'emp', constraint: 'salary_positive' }))?.message).toBe(
    'input: the values break the rule salary_positive on employee; nothing was written',
  );
  expect(told(refusal('22003'))?.message).toBe('input: a number is out of range for its column; nothing was written');
  expect(told(refusal('08P01'))?.extensions?.code).toBe('BAD_USER_INPUT');
});

test('a concurrency failure is WRITE_CONFLICT, safe to retry, with its SQLSTATE', () => {
  expect(told(refusal('40P01'))).toEqual({
    message:
      'the leader stopped this write (a deadlock with another write, retried and lost every time); nothing was written, so it is safe to retry',
    extensions: { code: 'WRITE_CONFLICT', sqlstate: '40P01' },
  });
});

test("the write's own explanation comes first; anything else the server refused is masked and logged; a lost connection is not the write's", () => {
  const own = new GraphQLError('own words', { extensions: { code: 'NOT_FOUND' } });
  expect(mutationFailure({ ...write, explain: () => own }, refusal('23505'), dataSource, log)).toBe(own);
  logged.length = 0;
  expect(told(refusal('42P01'))).toEqual({ message: 'the write failed', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
  expect(logged).toEqual([expect.objectContaining({ write: 'test write' })]);
  expect(told(new Error('Connection terminated unexpectedly'))).toBeUndefined();
  expect(told(Object.assign(new DatabaseError('gone', 0, 'error'), { severity: 'FATAL', code: '57P01' }))).toBeUndefined();
});
