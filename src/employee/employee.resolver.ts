import type { GraphQLResolveInfo } from 'graphql';
import { Args, Ctx, FieldResolver, Info, Mutation, Query, Resolver, Root } from 'type-graphql';
import { badInput } from '../errors/error-code';
import { ReadRole } from '../cluster-api/read-from.input';
import type { AppContext } from '../server/context';
import {
  CreateEmployeeArgs,
  CreateEmployeesArgs,
  EmployeeArgs,
  EmployeeIdArgs,
  EmployeesArgs,
  PAGE,
  TransferSalaryArgs,
  UpdateEmployeeArgs,
} from './employee.args';
import { Department } from '../department/department.entity';
import { NESTING, nestedOf, payloadNested, readWithNested } from '../department/nested-reads';
import { Employee } from './employee.entity';
import { employeeWrites } from './employee.mutations';
import { EmployeePayload, EmployeesPayload } from './employee.payloads';

/** Validates and delegates: reads and writes go through the replication service only. */
@Resolver(() => Employee)
export class EmployeeResolver {
  @Query(() => Employee, { nullable: true, description: 'One employee by id, or null; `readFrom` picks the node.' })
  async employee(
    @Args() { id, readFrom }: EmployeeArgs,
    @Ctx() ctx: AppContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<Employee | null> {
    const [found] = await readWithNested(ctx, readFrom, info, (db) => db.byKeys(Employee, [id]));
    return found ?? null;
  }

  @Query(() => [Employee], { description: 'Employees ordered by id, a page at a time; `after` is the last id of the previous page.' })
  employees(
    @Args() { readFrom, first, after }: EmployeesArgs,
    @Ctx() ctx: AppContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<Employee[]> {
    return readWithNested(ctx, readFrom, info, (db) => db.page(Employee, after, first ?? PAGE.default));
  }

  /** Loaded with the employee; a mutation's payload reads it on the leader, which just committed it. */
  @FieldResolver(() => Department, { nullable: true, description: 'The department this employee belongs to, if any.' })
  department(@Root() employee: Employee, @Ctx() ctx: AppContext): Promise<Department | null> | Department | null {
    if (employee.department !== undefined) return employee.department;
    const { departmentId } = employee;
    if (departmentId === null) return null;
    return ctx.replication.read({ role: ReadRole.LEADER }, ctx, (db) => db.byKey(Department, departmentId));
  }

  @Mutation(() => EmployeePayload, { description: 'Creates an employee on every node, atomically.' })
  async createEmployee(
    @Args() { input }: CreateEmployeeArgs,
    @Ctx() ctx: AppContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<EmployeePayload> {
    const nested = nestedOf(info, NESTING.payload, 'employee');
    const { value, ...meta } = await ctx.replication.write(employeeWrites.create(input), ctx);
    await payloadNested(ctx, { employees: [value] }, nested);
    return { employee: value, ...meta };
  }

  @Mutation(() => EmployeesPayload, { description: 'Creates many employees on every node: all of them, or none.' })
  async createEmployees(
    @Args() { inputs }: CreateEmployeesArgs,
    @Ctx() ctx: AppContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<EmployeesPayload> {
    const seen = new Set<number>();
    inputs.forEach((input, index) => {
      if (seen.has(input.id)) {
        throw badInput(`inputs[${index}].id`, `id ${input.id} appears more than once; give each employee its own id (nothing was created)`);
      }
      seen.add(input.id);
    });
    const nested = nestedOf(info, NESTING.payload, 'employees');
    const { value, ...meta } = await ctx.replication.write(employeeWrites.createMany(inputs), ctx);
    await payloadNested(ctx, { employees: value }, nested);
    return { employees: value, ...meta };
  }

  @Mutation(() => EmployeePayload, { description: 'Changes an employee on every node, atomically.' })
  async updateEmployee(
    @Args() { id, input }: UpdateEmployeeArgs,
    @Ctx() ctx: AppContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<EmployeePayload> {
    if (input.name == null && input.salary == null && input.departmentId === undefined) {
      throw badInput('input', 'give name, salary, departmentId or several');
    }
    const nested = nestedOf(info, NESTING.payload, 'employee');
    const { value, ...meta } = await ctx.replication.write(employeeWrites.update(id, input), ctx);
    await payloadNested(ctx, { employees: [value] }, nested);
    return { employee: value, ...meta };
  }

  @Mutation(() => EmployeePayload, { description: 'Deletes an employee on every node, atomically; returns the row as it was.' })
  async deleteEmployee(@Args() { id }: EmployeeIdArgs, @Ctx() ctx: AppContext, @Info() info: GraphQLResolveInfo): Promise<EmployeePayload> {
    const nested = nestedOf(info, NESTING.payload, 'employee');
    const { value, ...meta } = await ctx.replication.write(employeeWrites.delete(id), ctx);
    await payloadNested(ctx, { employees: [value] }, nested);
    return { employee: value, ...meta };
  }

  @Mutation(() => EmployeesPayload, { description: 'Moves salary from one employee to another in one atomic write: [from, to].' })
  async transferSalary(
    @Args() { fromId, toId, amount }: TransferSalaryArgs,
    @Ctx() ctx: AppContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<EmployeesPayload> {
    if (fromId === toId) throw badInput('toId', 'toId must differ from fromId');
    const nested = nestedOf(info, NESTING.payload, 'employees');
    const { value, ...meta } = await ctx.replication.write(employeeWrites.transfer(fromId, toId, amount), ctx);
    await payloadNested(ctx, { employees: value }, nested);
    return { employees: value, ...meta };
  }
}
