import fc from 'fast-check';
import type { Employee } from '../../src/employee/employee.entity';
import { EmployeeMutations } from '../../src/employee/employee.mutations';
import type { Mutation, WriteTarget } from '../../src/replication/write/mutation';
import { literal } from '../../src/replication/sql/sql';

/** Accounts that good and failing updates share; each starts with START salary. */
export const ACCOUNTS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
export const START = 1000;
/** An account so close to the largest Int that adding to it always overflows: nothing may ever change it. */
export const RICH = { id: 99, salary: 2_147_483_000 };
/** Never exists: updates and deletes of it are NOT_FOUND. */
export const MISSING = 5000;

/**
 * One write a client might send, good or failing, with what must hold afterwards. Ids for
 * creates and deletes are filled in by the run (each run uses fresh ones), so generators only
 * choose kinds and amounts.
 */
export type WriteOp =
  | { kind: 'create'; salary: number }
  | { kind: 'createNul' }
  | { kind: 'createDuplicate'; account: number }
  | { kind: 'add'; account: number; amount: number }
  | { kind: 'transfer'; from: number; to: number; amount: number }
  | { kind: 'overflow' }
  | { kind: 'notFound' }
  | { kind: 'renameNul'; account: number }
  /** Changes a row, then fails with this SQLSTATE inside the same statement. */
  | { kind: 'failAfterChange'; account: number; sqlstate: string }
  | { kind: 'delete' }
  /** The leader's connection dies in the middle of the batch. */
  | { kind: 'loseConnection'; account: number };

const account = fc.constantFrom(...ACCOUNTS);

export const writeOp: fc.Arbitrary<WriteOp> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('create' as const), salary: fc.integer({ min: 0, max: 10_000 }) }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'createNul' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('createDuplicate' as const), account }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('add' as const), account, amount: fc.integer({ min: 1, max: 50 }) }) },
  {
    weight: 4,
    arbitrary: fc
      .record({ kind: fc.constant('transfer' as const), from: account, to: account, amount: fc.integer({ min: 1, max: 1500 }) })
      .filter((op) => op.from !== op.to),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'overflow' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'notFound' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('renameNul' as const), account }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('failAfterChange' as const),
      account,
      // deadlock (retried, then WRITE_CONFLICT), statement timeout, lock timeout, numeric overflow, check violation
      sqlstate: fc.constantFrom('40P01', '57014', '55P03', '22003', '23514'),
    }),
  },
  { weight: 2, arbitrary: fc.constant({ kind: 'delete' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('loseConnection' as const), account }) },
);

/** True for ops that must never be acknowledged. */
export function mustFail(op: WriteOp): boolean {
  return !['create', 'add', 'transfer', 'delete'].includes(op.kind);
}

/**
 * The real mutation for an op. `id` is the fresh id of a create or delete. Raw mutations (a
 * NUL byte, a forced failure) skip the API's input validation on purpose: the batcher must be
 * correct whatever reaches it.
 */
export function mutationFor(op: WriteOp, id: number, target: WriteTarget): Mutation<unknown> {
  const employees = new EmployeeMutations(target);
  switch (op.kind) {
    case 'create':
      return employees.create({ id, name: `P${id}`, salary: op.salary });
    case 'createNul':
      return employees.create({ id, name: `bad\u0000${id}`, salary: 1 });
    case 'createDuplicate':
      return employees.create({ id: op.account, name: 'Dup', salary: 1 });
    case 'add':
      return update(target, op.account, `emp.id = ${op.account}`, `salary = emp.salary + ${op.amount}`);
    case 'transfer':
      return employees.transfer(op.from, op.to, op.amount);
    case 'overflow':
      return update(target, RICH.id, `emp.id = ${RICH.id}`, 'salary = emp.salary + 1000');
    case 'notFound':
      return employees.update(MISSING, { salary: 1 });
    case 'renameNul':
      return employees.update(op.account, { name: 'x\u0000y' });
    case 'failAfterChange':
      // Two rows: whichever the leader updates second raises, after the first has changed.
      return update(
        target,
        op.account,
        `emp.id IN (${op.account}, ${RICH.id})`,
        `salary = emp.salary + CASE WHEN emp.id = ${RICH.id} THEN test_fail(${literal(op.sqlstate)}) ELSE 1 END`,
      );
    case 'delete':
      return employees.delete(id);
    case 'loseConnection':
      return update(
        target,
        op.account,
        `emp.id = ${op.account}`,
        'salary = emp.salary + (SELECT 0 FROM pg_terminate_backend(pg_backend_pid()))',
      );
  }
}

/** An update by an arbitrary WHERE and SET, interpreted as the API's updates are (NOT_FOUND when nothing matched). */
function update(target: WriteTarget, id: number, where: string, sets: string): Mutation<Employee> {
  return { ...new EmployeeMutations(target).update(id, { salary: 0 }), sql: target.update(where, sets) };
}

/** Leader-only helper the failing mutations call: raises the given SQLSTATE. */
export const TEST_FAIL_FUNCTION = `CREATE OR REPLACE FUNCTION test_fail(code text) RETURNS int LANGUAGE plpgsql AS $$
  BEGIN RAISE EXCEPTION 'forced failure %', code USING ERRCODE = code; END $$`;
