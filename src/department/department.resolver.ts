import { Args, Ctx, FieldResolver, Info, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { GraphQLResolveInfo } from 'graphql';
import { badInput } from '../errors/error-code';
import { ReadRole } from '../cluster-api/read-from.input';
import type { AppContext } from '../server/context';
import { PAGE } from '../cluster-api/page-args';
import { Employee } from '../employee/employee.entity';
import {
  CreateDepartmentArgs,
  CreateDepartmentWithEmployeesArgs,
  DepartmentArgs,
  DepartmentIdArgs,
  DepartmentsArgs,
  UpdateDepartmentArgs,
} from './department.args';
import { Department } from './department.entity';
import { DepartmentPayload } from './department.payloads';
import { departmentWrites } from './department.writes';
import { NESTING, nestedOf, payloadNested, readWithNested } from './nested-reads';

/** Validates and delegates; nested fields are read with their parent, on its node, in its snapshot. */
@Resolver(() => Department)
export class DepartmentResolver {
  @Query(() => Department, { nullable: true, description: 'One department by id, or null; `readFrom` picks the node.' })
  async department(
    @Args() { id, readFrom }: DepartmentArgs,
    @Ctx() ctx: AppContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<Department | null> {
    const [found] = await readWithNested(ctx, readFrom, info, (db) => db.byKeys(Department, [id]));
    return found ?? null;
  }

  @Query(() => [Department], { description: 'Departments ordered by id, a page at a time; `after` is the last id of the previous page.' })
  departments(
    @Args() { readFrom, first, after }: DepartmentsArgs,
    @Ctx() ctx: AppContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<Department[]> {
    return readWithNested(ctx, readFrom, info, (db) => db.page(Department, after, first ?? PAGE.default));
  }

  /** Loaded with the department; a mutation's payload reads them on the leader, which just committed it. */
  @FieldResolver(() => [Employee], { description: 'Employees of this department, ordered by id.' })
  employees(@Root() department: Department, @Ctx() ctx: AppContext): Promise<Employee[]> | Employee[] {
    if (department.employees) return department.employees;
    return ctx.replication.read({ role: ReadRole.LEADER }, ctx, (db) => db.where(Employee, 'departmentId', [department.id]));
  }

  @Mutation(() => DepartmentPayload, { description: 'Creates a department on every node, atomically; its id is generated.' })
  async createDepartment(
    @Args() { input }: CreateDepartmentArgs,
    @Ctx() ctx: AppContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<DepartmentPayload> {
    const nested = nestedOf(info, NESTING.payload, 'department');
    const { value, ...meta } = await ctx.replication.write(departmentWrites.create(input), ctx);
    await payloadNested(ctx, { departments: [value] }, nested);
    return { department: value, ...meta };
  }

  @Mutation(() => DepartmentPayload, { description: 'Renames a department on every node, atomically.' })
  async updateDepartment(
    @Args() { id, input }: UpdateDepartmentArgs,
    @Ctx() ctx: AppContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<DepartmentPayload> {
    if (input.name == null) throw badInput('input', 'give name');
    const nested = nestedOf(info, NESTING.payload, 'department');
    const { value, ...meta } = await ctx.replication.write(departmentWrites.update(id, input), ctx);
    await payloadNested(ctx, { departments: [value] }, nested);
    return { department: value, ...meta };
  }

  @Mutation(() => DepartmentPayload, {
    description: 'Deletes a department no employee refers to, on every node; returns the row as it was.',
  })
  async deleteDepartment(
    @Args() { id }: DepartmentIdArgs,
    @Ctx() ctx: AppContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<DepartmentPayload> {
    const nested = nestedOf(info, NESTING.payload, 'department');
    const { value, ...meta } = await ctx.replication.write(departmentWrites.delete(id), ctx);
    await payloadNested(ctx, { departments: [value] }, nested);
    return { department: value, ...meta };
  }

  @Mutation(() => DepartmentPayload, {
    description: 'Creates a department and its employees in one atomic write: all of them, or nothing.',
  })
  async createDepartmentWithEmployees(
    @Args() { input }: CreateDepartmentWithEmployeesArgs,
    @Ctx() ctx: AppContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<DepartmentPayload> {
    // Refused before the write when too deep; what may be asked for comes with the write (its employees).
    nestedOf(info, NESTING.payload, 'department');
    const seen = new Set<number>();
    input.employees.forEach((employee, index) => {
      if (seen.has(employee.id))
        throw badInput(
          `input.employees[${index}].id`,
          `id ${employee.id} appears more than once; give each employee its own id (nothing was created)`,
        );
      if (employee.departmentId != null)
        throw badInput(`input.employees[${index}].departmentId`, 'leave departmentId out: each employee joins the new department');
      seen.add(employee.id);
    });
    const { value, ...meta } = await ctx.replication.write(departmentWrites.createWithEmployees(input), ctx);
    return { department: value, ...meta };
  }
}
