import { Kind, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';
import { In, type EntityManager } from 'typeorm';
import { Employee } from '../employee/employee.entity';
import { Department } from './department.entity';

/** The nested relation fields a selection asks for, each with what it asks of its own rows. */
export interface Nested {
  employees?: Nested;
  department?: Nested;
}

/** The relation fields under the resolver's field, through fragments, as deep as the query goes. */
export function nestedOf(info: GraphQLResolveInfo): Nested {
  const walk = (set: SelectionSetNode | undefined, into: Nested): Nested => {
    for (const selection of set?.selections ?? []) {
      if (selection.kind === Kind.INLINE_FRAGMENT) walk(selection.selectionSet, into);
      else if (selection.kind === Kind.FRAGMENT_SPREAD) walk(info.fragments[selection.name.value]?.selectionSet, into);
      else if (selection.name.value === 'employees' || selection.name.value === 'department') {
        const name = selection.name.value;
        into[name] = walk(selection.selectionSet, into[name] ?? {});
      }
    }
    return into;
  };
  return info.fieldNodes.reduce((nested, node) => walk(node.selectionSet, nested), {} as Nested);
}

/**
 * Loads what `nested` asks for into the rows, in the caller's transaction (one node, one
 * snapshot), one query per relation and level however many rows there are: no N+1.
 */
export async function loadNested(
  db: EntityManager,
  rows: { departments?: Department[]; employees?: Employee[] },
  nested: Nested,
): Promise<void> {
  const { departments = [], employees = [] } = rows;
  if (nested.employees && departments.length > 0) {
    const members = await db
      .getRepository(Employee)
      .find({ where: { departmentId: In(departments.map((d) => d.id)) }, order: { id: 'ASC' } });
    for (const department of departments) department.employees = members.filter((e) => e.departmentId === department.id);
    await loadNested(db, { employees: members }, nested.employees);
  }
  if (nested.department && employees.length > 0) {
    const ids = [...new Set(employees.map((e) => e.departmentId).filter((id): id is number => id !== null))];
    const found = ids.length > 0 ? await db.getRepository(Department).findBy({ id: In(ids) }) : [];
    const byId = new Map(found.map((d) => [d.id, d]));
    for (const employee of employees)
      employee.department = employee.departmentId === null ? null : (byId.get(employee.departmentId) ?? null);
    await loadNested(db, { departments: found }, nested.department);
  }
}
