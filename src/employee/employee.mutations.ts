import type { DatabaseError } from 'pg';
import { badInput, ErrorCode, userError } from '../errors/error-code';
import type { Mutation, WriteTarget } from '../replication/write/mutation';
import type { RowImage, TableShape } from '../replication/change';
import { literal } from '../replication/sql/sql';
import type { Employee } from './employee.entity';
import { EMPLOYEE_LIMITS, type CreateEmployeeInput, type UpdateEmployeeInput } from './employee.inputs';
import { SqlState } from '../errors/sqlstate';

/**
 * Employee writes as the replication layer runs them: one statement each, returning the row
 * images the followers will apply. Values are validated before they get here and inlined
 * with `literal`, so a whole mutation is one round trip to the leader.
 */
export class EmployeeMutations {
  private readonly table: TableShape;

  constructor(private readonly target: WriteTarget) {
    this.table = target.table;
  }

  create(input: CreateEmployeeInput): Mutation<Employee> {
    return {
      table: this.table,
      op: 'insert',
      lockKey: input.id,
      sql: `INSERT INTO emp (id, name, salary) VALUES ${values(input)} RETURNING *`,
      interpret: (rows) => rows[0] as unknown as Employee,
      explain: alreadyExists,
    };
  }

  createMany(inputs: CreateEmployeeInput[]): Mutation<Employee[]> {
    return {
      table: this.table,
      op: 'insert',
      lockKey: Math.min(...inputs.map((input) => input.id)),
      sql: `INSERT INTO emp (id, name, salary) VALUES ${inputs.map(values).join(', ')} RETURNING *`,
      interpret: (rows) => rows as unknown as Employee[],
      explain: alreadyExists,
    };
  }

  update(id: number, input: UpdateEmployeeInput): Mutation<Employee> {
    const sets = [
      input.name != null ? `name = ${literal(input.name)}` : undefined,
      input.salary != null ? `salary = ${literal(input.salary)}` : undefined,
    ].filter(Boolean);
    return {
      table: this.table,
      op: 'update',
      lockKey: id,
      sql: this.target.update(`emp.id = ${literal(id)}`, sets.join(', ')),
      interpret: (rows) => found(rows, id),
    };
  }

  delete(id: number): Mutation<Employee> {
    return {
      table: this.table,
      op: 'delete',
      lockKey: id,
      sql: `DELETE FROM emp WHERE id = ${literal(id)} RETURNING *`,
      interpret: (rows) => found(rows, id),
    };
  }

  /** Moves `amount` of salary between two employees in one statement: both rows change or neither. */
  transfer(fromId: number, toId: number, amount: number): Mutation<Employee[]> {
    return {
      table: this.table,
      op: 'update',
      lockKey: Math.min(fromId, toId),
      sql: this.target.update(
        `emp.id IN (${literal(fromId)}, ${literal(toId)})`,
        // Nothing moves unless both exist: a missing employee is NOT_FOUND, never an overflow of the other.
        `salary = emp.salary + CASE WHEN (SELECT count(*) FROM emp AS e WHERE e.id IN (${literal(fromId)}, ${literal(toId)})) < 2 THEN 0 ` +
          `WHEN emp.id = ${literal(fromId)} THEN ${-amount} ELSE ${amount} END`,
      ),
      interpret: (rows) => {
        const from = found(
          rows.filter((r) => r.id === fromId),
          fromId,
        );
        const to = found(
          rows.filter((r) => r.id === toId),
          toId,
        );
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
  }
}

function values(input: CreateEmployeeInput): string {
  return `(${literal(input.id)}, ${literal(input.name)}, ${literal(input.salary)})`;
}

function found(rows: RowImage[], id: number): Employee {
  if (rows.length === 0) throw userError(ErrorCode.NotFound, `employee ${id} does not exist`, { id });
  return rows[0] as unknown as Employee;
}

function alreadyExists(error: DatabaseError) {
  if (error.code !== SqlState.UniqueViolation) return undefined;
  const id = /\(id\)=\((\d+)\)/.exec(error.detail ?? '')?.[1];
  return userError(ErrorCode.AlreadyExists, `employee ${id ?? ''} already exists; nothing was created`.replace('  ', ' '), {
    id: id ? Number(id) : null,
  });
}
