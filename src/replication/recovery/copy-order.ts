/** A replicated table and the tables its foreign keys refer to. */
export interface TableRefs {
  table: string;
  references: readonly string[];
}

/**
 * The order a rebuild inserts replicated tables in: every table after the tables it refers to, so
 * that each foreign key holds as rows arrive (a table referring to itself is inserted in one
 * statement, which PostgreSQL checks at its end). Ties keep the given order. A cycle between
 * tables cannot be inserted table by table and is refused, naming the tables in it.
 */
export function copyOrder(tables: readonly TableRefs[]): string[] {
  const byName = new Map(tables.map((t) => [t.table, t]));
  const done = new Set<string>();
  const order: string[] = [];
  const visit = (t: TableRefs, path: string[]): void => {
    if (done.has(t.table)) return;
    if (path.includes(t.table)) {
      const cycle = [...path.slice(path.indexOf(t.table)), t.table];
      throw new Error(`replicated tables refer to each other in a cycle (${cycle.join(' -> ')}): a rebuild cannot copy them in order`);
    }
    for (const name of t.references) {
      const referenced = byName.get(name);
      if (referenced && name !== t.table) visit(referenced, [...path, t.table]);
    }
    done.add(t.table);
    order.push(t.table);
  };
  for (const t of tables) visit(t, []);
  return order;
}
