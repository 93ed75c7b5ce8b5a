import type { DatabaseError } from 'pg';
import { badInput, ErrorCode, userError } from '../errors/error-code';
import { SqlState } from '../errors/sqlstate';
import { increment } from '../replication/entities/entity-sql';
import type { Write } from '../replication/entities/write-tx';
import { Employee } from './employee.entity';
import { EMPLOYEE_LIMITS, type CreateEmployeeInput, type UpdateEmployeeInput } from './employee.inputs';

/**
 * Employee writes, stated in terms of the entity: the replication layer builds the SQL, ships
 * the rows to every node and maps them back. Each issues all its statements before awaiting
 * any, so a batch of them still reaches the leader in one round trip.
 */
export const employeeWrites = {
  create(input: CreateEmployeeInput): Write<Employee> {
    return {
      name: 'createEmployee',
      lockKey: ['emp', input.id],
      run: async (tx) => tx.insert(Employee, input),
      explain: alreadyExists,
    };
  },

  createMany(inputs: readonly CreateEmployeeInput[]): Write<Employee[]> {
    return {
      name: 'createEmployees',
      lockKey: ['emp', Math.min(...inputs.map((input) => input.id))],
      run: (tx) => tx.insertMany(Employee, inputs),
      explain: alreadyExists,
    };
  },

  update(id: number, input: UpdateEmployeeInput): Write<Employee> {
    return {
      name: 'updateEmployee',
      lockKey: ['emp', id],
      run: async (tx) => {
        const changes = { name: input.name ?? undefined, salary: input.salary ?? undefined, departmentId: input.departmentId };
        return found(await tx.update(Employee, { id }, changes), id);
      },
    };
  },

  delete(id: number): Write<Employee> {
    return {
      name: 'deleteEmployee',
      lockKey: ['emp', id],
      run: async (tx) => found(await tx.delete(Employee, { id }), id),
    };
  },

  /** Moves `amount` of salary between two employees: both rows change in one write, or neither. */
  transfer(fromId: number, toId: number, amount: number): Write<Employee[]> {
    return {
      name: 'transferSalary',
      lockKey: ['emp', Math.min(fromId, toId)],
      run: async (tx) => {
        // Both issued before either is awaited: one round trip. A missing payer is found before
        // the credit is sent on its own, so it is NOT_FOUND, never an overflow of the payee.
        const debit = tx.update(Employee, { id: fromId }, { salary: increment(-amount) });
        const credit = tx.update(Employee, { id: toId }, { salary: increment(amount) });
        const from = found(await debit, fromId);
        const to = found(await credit, toId);
        if (from.salary < 0) {
          throw badInput('amount', `employee ${fromId} has only ${from.salary + amount}, cannot transfer ${amount}; transfer at most that`);
        }
        return [from, to];
      },
      explain: (error) =>
        error.code === SqlState.NumericValueOutOfRange
          ? badInput('amount', `employee ${toId}'s salary would exceed the largest Int (${EMPLOYEE_LIMITS.salaryMax}); transfer less`)
          : undefined,
    };
  },
};

function found(rows: Employee[], id: number): Employee {
  if (rows.length === 0) throw userError(ErrorCode.NotFound, `employee ${id} does not exist`, { id });
  return rows[0];
}

function alreadyExists(error: DatabaseError) {
  if (error.code !== SqlState.UniqueViolation) return undefined;
  const id = /\(id\)=\((\d+)\)/.exec(error.detail ?? '')?.[1];
  return userError(ErrorCode.AlreadyExists, `employee ${id ?? ''} already exists; nothing was created`.replace('  ', ' '), {
    id: id ? Number(id) : null,
  });
}
