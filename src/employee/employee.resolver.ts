import { Args, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import { MoreThan } from 'typeorm';
import { badInput } from '../errors/error-code';
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
import { Employee } from './employee.entity';
import { employeeWrites } from './employee.mutations';
import { EmployeePayload, EmployeesPayload } from './employee.payloads';

/** Validates and delegates: reads and writes go through the replication service only. */
@Resolver(() => Employee)
export class EmployeeResolver {
  @Query(() => Employee, { nullable: true, description: 'One employee by id, or null; `readFrom` picks the node.' })
  employee(@Args() { id, readFrom }: EmployeeArgs, @Ctx() ctx: AppContext): Promise<Employee | null> {
    return ctx.replication.read(readFrom, ctx, (db) => db.getRepository(Employee).findOneBy({ id }));
  }

  @Query(() => [Employee], { description: 'Employees ordered by id, a page at a time; `after` is the last id of the previous page.' })
  employees(@Args() { readFrom, first, after }: EmployeesArgs, @Ctx() ctx: AppContext): Promise<Employee[]> {
    return ctx.replication.read(readFrom, ctx, (db) =>
      db.getRepository(Employee).find({
        where: after != null ? { id: MoreThan(after) } : {},
        order: { id: 'ASC' },
        take: first ?? PAGE.default,
      }),
    );
  }

  @Mutation(() => EmployeePayload, { description: 'Creates an employee on every node, atomically.' })
  async createEmployee(@Args() { input }: CreateEmployeeArgs, @Ctx() ctx: AppContext): Promise<EmployeePayload> {
    const { value, ...meta } = await ctx.replication.write(employeeWrites.create(input), ctx);
    return { employee: value, ...meta };
  }

  @Mutation(() => EmployeesPayload, { description: 'Creates many employees on every node: all of them, or none.' })
  async createEmployees(@Args() { inputs }: CreateEmployeesArgs, @Ctx() ctx: AppContext): Promise<EmployeesPayload> {
    const seen = new Set<number>();
    inputs.forEach((input, index) => {
      if (seen.has(input.id)) {
        throw badInput(`inputs[${index}].id`, `id ${input.id} appears more than once; give each employee its own id (nothing was created)`);
      }
      seen.add(input.id);
    });
    const { value, ...meta } = await ctx.replication.write(employeeWrites.createMany(inputs), ctx);
    return { employees: value, ...meta };
  }

  @Mutation(() => EmployeePayload, { description: 'Changes an employee on every node, atomically.' })
  async updateEmployee(@Args() { id, input }: UpdateEmployeeArgs, @Ctx() ctx: AppContext): Promise<EmployeePayload> {
    if (input.name == null && input.salary == null) {
      throw badInput('input', 'give name, salary or both');
    }
    const { value, ...meta } = await ctx.replication.write(employeeWrites.update(id, input), ctx);
    return { employee: value, ...meta };
  }

  @Mutation(() => EmployeePayload, { description: 'Deletes an employee on every node, atomically; returns the row as it was.' })
  async deleteEmployee(@Args() { id }: EmployeeIdArgs, @Ctx() ctx: AppContext): Promise<EmployeePayload> {
    const { value, ...meta } = await ctx.replication.write(employeeWrites.delete(id), ctx);
    return { employee: value, ...meta };
  }

  @Mutation(() => EmployeesPayload, { description: 'Moves salary from one employee to another in one atomic write: [from, to].' })
  async transferSalary(@Args() { fromId, toId, amount }: TransferSalaryArgs, @Ctx() ctx: AppContext): Promise<EmployeesPayload> {
    if (fromId === toId) throw badInput('toId', 'toId must differ from fromId');
    const { value, ...meta } = await ctx.replication.write(employeeWrites.transfer(fromId, toId, amount), ctx);
    return { employees: value, ...meta };
  }
}
