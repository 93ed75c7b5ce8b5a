import { ErrorCode, userError } from '../errors/error-code';
import type { Write } from '../replication/entities/write-tx';
import { Employee } from '../employee/employee.entity';
import { Department } from './department.entity';
import type { CreateDepartmentInput, CreateDepartmentWithEmployeesInput, UpdateDepartmentInput } from './department.inputs';

/**
 * Department writes, in terms of entities. A duplicate name (ALREADY_EXISTS), an unknown
 * department (REFERENCE_NOT_FOUND) and a delete of one still referred to (STILL_REFERENCED) are
 * the replication layer's own rules, worded from the constraint.
 */
export const departmentWrites = {
  create(input: CreateDepartmentInput): Write<Department> {
    return { name: 'createDepartment', lockKey: ['department', input.name], run: (tx) => tx.insert(Department, { name: input.name }) };
  },

  update(id: number, input: UpdateDepartmentInput): Write<Department> {
    return {
      name: 'updateDepartment',
      lockKey: ['department', id],
      run: async (tx) => found(await tx.update(Department, { id }, { name: input.name }), id),
    };
  },

  delete(id: number): Write<Department> {
    return { name: 'deleteDepartment', lockKey: ['department', id], run: async (tx) => found(await tx.delete(Department, { id }), id) };
  },

  /** The department first (its id is generated), then its employees: two rounds, one atomic write. */
  createWithEmployees(input: CreateDepartmentWithEmployeesInput): Write<Department> {
    return {
      name: 'createDepartmentWithEmployees',
      // The rows writes contend for are the employees' (ids the client chose; names of new
      // departments rarely clash): keyed by the smallest, batches insert them in one order.
      lockKey: input.employees.length > 0 ? ['emp', Math.min(...input.employees.map((e) => e.id))] : ['department', input.name],
      run: async (tx) => {
        const department = await tx.insert(Department, { name: input.name });
        const members = input.employees.map(({ id, name, salary }) => ({ id, name, salary, departmentId: department.id }));
        department.employees = members.length > 0 ? await tx.insertMany(Employee, members) : [];
        // The payload's nested fields come from what the write returned: no read per row after it.
        for (const employee of department.employees) employee.department = department;
        return department;
      },
    };
  },
};

function found(rows: Department[], id: number): Department {
  if (rows.length === 0) throw userError(ErrorCode.NotFound, `department ${id} does not exist`, { id });
  return rows[0];
}
