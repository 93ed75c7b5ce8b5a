import fc from 'fast-check';
import { Employee } from '../../src/employee/employee.entity';
import { employeeWrites } from '../../src/employee/employee.mutations';
import { badInput } from '../../src/errors/error-code';
import { increment, type Changes } from '../../src/replication/entities/entity-sql';
import type { Write } from '../../src/replication/entities/write-tx';

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
  /** Reads the balance, then decides: a write of two rounds, which must see no neighbour's change in between. */
  | { kind: 'withdraw'; account: number; amount: number }
  | { kind: 'overflow' }
  | { kind: 'notFound' }
  | { kind: 'renameNul'; account: number }
  /** Changes a row, then fails with this SQLSTATE in its next statement. */
  | { kind: 'failAfterChange'; account: number; sqlstate: string }
  | { kind: 'delete' }
  /** The leader's connection dies in the middle of the batch. */
  | { kind: 'loseConnection'; account: number };

/** Ops on the given accounts. */
const opsOn = (account: fc.Arbitrary<number>): fc.Arbitrary<WriteOp> =>
  fc.oneof(
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
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('withdraw' as const), account, amount: fc.integer({ min: 1, max: 400 }) }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'overflow' as const }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'notFound' as const }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('renameNul' as const), account }) },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('failAfterChange' as const),
        account,
        // deadlock (retried, then WRITE_CONFLICT), statement timeout, lock timeout, numeric overflow,
        // check violation (BAD_USER_INPUT), a raised exception nothing expects (INTERNAL_SERVER_ERROR)
        sqlstate: fc.constantFrom('40P01', '57014', '55P03', '22003', '23514', 'P0001'),
      }),
    },
    { weight: 2, arbitrary: fc.constant({ kind: 'delete' as const }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('loseConnection' as const), account }) },
  );

export const writeOp = opsOn(fc.constantFrom(...ACCOUNTS));

/**
 * Mixes of good writes only: a failure anywhere in a batch makes the leader run it one write at
 * a time, so only these batches exercise the one-round path with writes that read and decide.
 * Three accounts only, so that writes of the same row often share a batch.
 */
export const goodWriteOp = opsOn(fc.constantFrom(...ACCOUNTS.slice(0, 3))).filter((op) => !mustFail(op));

/** Withdrawals and additions of two accounts only: writes that read and decide, beside writes of the same rows. */
export const contendedWriteOp = opsOn(fc.constantFrom(...ACCOUNTS.slice(0, 2))).filter((op) => op.kind === 'withdraw' || op.kind === 'add');

/** True for ops that must never be acknowledged. */
export function mustFail(op: WriteOp): boolean {
  return !['create', 'add', 'transfer', 'withdraw', 'delete'].includes(op.kind);
}

/** A name the leader-only trigger (TEST_FAIL_TRIGGER) turns into this failure. */
const failName = (sqlstate: string) => `fail:${sqlstate}`;
const DIE = 'die';

/**
 * The real write for an op. `id` is the fresh id of a create or delete. Failing writes (a NUL
 * byte, a forced failure) skip the API's input validation on purpose: the batcher must be
 * correct whatever reaches it.
 */
export function writeFor(op: WriteOp, id: number): Write<unknown> {
  switch (op.kind) {
    case 'create':
      return employeeWrites.create({ id, name: `P${id}`, salary: op.salary });
    case 'createNul':
      return employeeWrites.create({ id, name: `bad\u0000${id}`, salary: 1 });
    case 'createDuplicate':
      return employeeWrites.create({ id: op.account, name: 'Dup', salary: 1 });
    case 'add':
      return updates(op.account, [[op.account, { salary: increment(op.amount) }]]);
    case 'transfer':
      return employeeWrites.transfer(op.from, op.to, op.amount);
    case 'withdraw':
      return withdraw(op.account, op.amount);
    case 'overflow':
      return updates(RICH.id, [[RICH.id, { salary: increment(1000) }]]);
    case 'notFound':
      return employeeWrites.update(MISSING, { salary: 1 });
    case 'renameNul':
      return employeeWrites.update(op.account, { name: 'x\u0000y' });
    case 'failAfterChange':
      // The first statement changes a row; the second raises on the leader.
      return updates(op.account, [
        [op.account, { salary: increment(1) }],
        [RICH.id, { name: failName(op.sqlstate) }],
      ]);
    case 'delete':
      return employeeWrites.delete(id);
    case 'loseConnection':
      return updates(op.account, [[op.account, { name: DIE }]]);
  }
}

/** Updates of several rows by id, all issued at once, NOT_FOUND when one matched nothing. */
function updates(lockId: number, steps: [id: number, changes: Changes<Employee>][]): Write<Employee[]> {
  const write = employeeWrites.update(lockId, {});
  return {
    ...write,
    run: async (tx) => {
      const sent = steps.map(([id, changes]) => tx.update(Employee, { id }, changes));
      const rows = (await Promise.all(sent)).flat();
      if (rows.length < steps.length) throw new Error('a row to update is missing');
      return rows;
    },
  };
}

/** Lock, read, decide, then set the new balance: it decides on what it read, so it must run alone. */
function withdraw(id: number, amount: number): Write<Employee> {
  return {
    name: 'withdraw',
    lockKey: ['emp', id],
    run: async (tx) => {
      const [row] = await tx.lock(Employee, { id });
      if (row.salary < amount) throw badInput('amount', `cannot withdraw ${amount} from ${row.salary}`);
      const [after] = await tx.update(Employee, { id }, { salary: row.salary - amount });
      return after;
    },
  };
}

/**
 * Leader-only: a row written with the name `fail:<sqlstate>` raises that SQLSTATE, one named
 * `die` ends the leader's connection, so failures happen in the database, after earlier
 * statements of the same write changed rows. An AFTER trigger: with a BEFORE UPDATE row trigger,
 * PostgreSQL 18's `RETURNING old` gives the row the update first saw, not the one a concurrent
 * update left (see updateStatement), and syncrep refuses triggers in production.
 */
export const TEST_FAIL_TRIGGER = `CREATE OR REPLACE FUNCTION test_fail() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF NEW.name LIKE '${failName('')}%' THEN
      RAISE EXCEPTION 'forced failure %', NEW.name USING ERRCODE = substr(NEW.name, ${failName('').length + 1});
    END IF;
    IF NEW.name = '${DIE}' THEN PERFORM pg_terminate_backend(pg_backend_pid()); END IF;
    RETURN NEW;
  END $$;
  CREATE TRIGGER test_fail AFTER INSERT OR UPDATE ON emp FOR EACH ROW EXECUTE FUNCTION test_fail()`;
