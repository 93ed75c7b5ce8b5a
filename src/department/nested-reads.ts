import { Kind, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';
import type { EntityReader } from '../replication/read/entity-reader';
import { ReadRole } from '../cluster-api/read-from.input';
import { badInput } from '../errors/error-code';
import type { ReadFrom } from '../cluster-api/read-from.input';
import type { AppContext } from '../server/context';
import { Employee } from '../employee/employee.entity';
import { Department } from './department.entity';

/** The nested relation fields a selection asks for, each with what it asks of its own rows. */
export interface Nested {
  employees?: Nested;
  department?: Nested;
}

/**
 * How deep relation fields may nest: a read may ask for a department's employees' department (two
 * levels), a mutation's payload for one level. Each level is a query, and each multiplies what
 * the response holds (every employee of a department lists them all again).
 */
export const NESTING = { read: 2, payload: 1 } as const;

/** Most objects the nested fields of one read may return (an object counted each time it appears). */
export const NESTED_MAX = 100_000;

/**
 * The relation fields under the resolver's field (or, for a mutation, under its payload's field
 * `under`), through fragments, refused (BAD_USER_INPUT, before anything is read or written) when
 * they nest deeper than `levels`.
 */
export function nestedOf(info: GraphQLResolveInfo, levels: number, under?: string): Nested {
  const walk = (set: SelectionSetNode | undefined, into: Nested, depth: number): Nested => {
    for (const selection of set?.selections ?? []) {
      if (selection.kind === Kind.INLINE_FRAGMENT) walk(selection.selectionSet, into, depth);
      else if (selection.kind === Kind.FRAGMENT_SPREAD) walk(info.fragments[selection.name.value]?.selectionSet, into, depth);
      else if (selection.name.value === 'employees' || selection.name.value === 'department') {
        if (depth + 1 > levels) {
          throw badInput(
            'query',
            `nest employees and department at most ${levels} level(s) deep under ${info.fieldName}; ask for the rest in another query`,
          );
        }
        const name = selection.name.value;
        into[name] = walk(selection.selectionSet, into[name] ?? {}, depth + 1);
      }
    }
    return into;
  };
  // A payload's rows sit one field down (`employee`, `employees`, `department`).
  const payloadSets = (set: SelectionSetNode | undefined): SelectionSetNode[] =>
    (set?.selections ?? []).flatMap((selection) => {
      if (selection.kind === Kind.INLINE_FRAGMENT) return payloadSets(selection.selectionSet);
      if (selection.kind === Kind.FRAGMENT_SPREAD) return payloadSets(info.fragments[selection.name.value]?.selectionSet);
      return selection.name.value === under && selection.selectionSet ? [selection.selectionSet] : [];
    });
  const sets = info.fieldNodes.flatMap((node) =>
    under === undefined ? (node.selectionSet ? [node.selectionSet] : []) : payloadSets(node.selectionSet),
  );
  return sets.reduce((nested, set) => walk(set, nested, 0), {} as Nested);
}

/** What a level of rows weighs: how many times each row appears in the response. */
type Times = Map<object, number>;

/**
 * Loads what `nested` asks for into the rows, in the caller's transaction (one node, one
 * snapshot), one query per relation and level however many rows there are: no N+1. Refused
 * (BAD_USER_INPUT) when the response would hold more than NESTED_MAX nested objects.
 */
export async function loadNested(
  db: EntityReader,
  rows: { departments?: Department[]; employees?: Employee[] },
  nested: Nested,
): Promise<void> {
  const once = (list: object[]): Times => new Map(list.map((r) => [r, 1]));
  const { departments = [], employees = [] } = rows;
  await load(db, departments, once(departments), employees, once(employees), nested, { left: NESTED_MAX });
}

async function load(
  db: EntityReader,
  departments: Department[],
  departmentTimes: Times,
  employees: Employee[],
  employeeTimes: Times,
  nested: Nested,
  budget: { left: number },
): Promise<void> {
  const spend = (n: number) => {
    budget.left -= n;
    if (budget.left < 0) {
      throw badInput('query', `the nested fields would return more than ${NESTED_MAX} objects; ask for fewer rows (first) or nest less`);
    }
  };
  if (nested.employees && departments.length > 0) {
    const members = await db.where(
      Employee,
      'departmentId',
      departments.map((d) => d.id),
    );
    const byDepartment = new Map<number, Employee[]>();
    for (const e of members) byDepartment.set(e.departmentId!, [...(byDepartment.get(e.departmentId!) ?? []), e]);
    const times: Times = new Map();
    for (const d of departments) {
      d.employees = byDepartment.get(d.id) ?? [];
      for (const e of d.employees) times.set(e, (times.get(e) ?? 0) + (departmentTimes.get(d) ?? 1));
    }
    spend([...times.values()].reduce((a, b) => a + b, 0));
    await load(db, [], new Map(), members, times, nested.employees, budget);
  }
  if (nested.department && employees.length > 0) {
    const ids = [...new Set(employees.map((e) => e.departmentId).filter((id): id is number => id !== null))];
    const found = await db.byKeys(Department, ids);
    const byId = new Map(found.map((d) => [d.id, d]));
    const times: Times = new Map();
    for (const e of employees) {
      const d = e.departmentId === null ? null : (byId.get(e.departmentId) ?? null);
      e.department = d;
      if (d) times.set(d, (times.get(d) ?? 0) + (employeeTimes.get(e) ?? 1));
    }
    spend([...times.values()].reduce((a, b) => a + b, 0));
    await load(db, found, times, [], new Map(), nested.department, budget);
  }
}

/**
 * A mutation payload's nested fields, read on the leader that has just committed the write, in
 * one snapshot, one query per relation: nothing when none was asked for.
 */
export async function payloadNested(
  ctx: AppContext,
  rows: { departments?: Department[]; employees?: Employee[] },
  nested: Nested,
): Promise<void> {
  if (Object.keys(nested).length === 0) return;
  await ctx.replication.read({ role: ReadRole.LEADER }, ctx, (db) => loadNested(db, rows, nested), { snapshot: true });
}

/**
 * A query's rows (`read`) and the nested fields it asks of them, on one node: in one REPEATABLE
 * READ snapshot when any are asked for, a plain read otherwise.
 */
export function readWithNested<T extends Department | Employee>(
  ctx: AppContext,
  readFrom: ReadFrom | undefined,
  info: GraphQLResolveInfo,
  read: (db: EntityReader) => Promise<T[]>,
): Promise<T[]> {
  const nested = nestedOf(info, NESTING.read);
  return ctx.replication.read(
    readFrom,
    ctx,
    async (db) => {
      const found = await read(db);
      const departments = found.filter((r): r is Department & T => r instanceof Department);
      const employees = found.filter((r): r is Employee & T => r instanceof Employee);
      await loadNested(db, { departments, employees }, nested);
      return found;
    },
    { snapshot: Object.keys(nested).length > 0 },
  );
}
