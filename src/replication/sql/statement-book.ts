import type { TableShape } from '../change';
import { applyStatementsOf, type TableStatements } from './apply-sql';
import { confirmStatementOf } from './confirm-sql';
import type { SessionStatement } from './session-statements';

/**
 * The apply and confirm statements of every table shape one cluster has met, each built once per
 * shape (never once per change) and named uniquely within it. The cluster owns it: its nodes'
 * PostgreSQL version decides how an update is applied, and its connections are the ones that
 * PREPARE these names (session-statements.ts).
 */
export class StatementBook {
  /** The statements that apply a change of `shape` on a follower, one per op. */
  readonly apply: (shape: TableShape) => TableStatements;
  /** The statement that confirms the leader's rows of `shape` before it commits. */
  readonly confirm: (shape: TableShape) => SessionStatement;

  constructor(
    /** Every node runs PostgreSQL 18 or later, whose UPDATE returns each row's prior image. */
    readonly returnsOld: boolean,
  ) {
    this.apply = perShape(returnsOld ? 'syncrep_apply' : 'syncrep_apply_locking', (shape, prefix) =>
      applyStatementsOf(shape, prefix, returnsOld),
    );
    this.confirm = perShape('syncrep_confirm', confirmStatementOf);
  }
}

/**
 * Memoizes, per table shape, what `build` makes of it, named `${prefix}_${n}`: statements are
 * built once per shape. Only the shape is the key: a change also carries its rows, which must not
 * become part of it.
 */
function perShape<T>(prefix: string, build: (shape: TableShape, name: string) => T): (shape: TableShape) => T {
  const built = new Map<string, T>();
  return (shape) => {
    const key = JSON.stringify([shape.table, shape.key, shape.columns, shape.sequences ?? []]);
    let found = built.get(key);
    if (found === undefined) {
      found = build(shape, `${prefix}_${built.size + 1}`);
      built.set(key, found);
    }
    return found;
  };
}
