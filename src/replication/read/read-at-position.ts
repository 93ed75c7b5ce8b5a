import type { PgNode } from '../nodes/cluster-node';
import { row, withRollback, type Runner } from '../sql/sql';
import { hasPosition } from '../sql/log-statements';
import { EntityReader, type RunRead } from './entity-reader';
import { BEGIN_SNAPSHOT, onClient, onPool } from './read-on-node';
import type { PositionAttempt } from './position-read';
import { REACHED, type ReadStatements } from './read-statements';

/** Stops a read's work at its first statement when the node lacks the position: nothing is served. */
class Lacks extends Error {}

/**
 * Runs `work` on `node` only if the node has committed `position`, and so that it sees that write.
 * The check travels inside the work's first statement (one statement, one snapshot, one round
 * trip: read-statements.ts `atPosition`); with `snapshot`, inside a REPEATABLE READ transaction,
 * so every later statement sees the same state. The check is given `checkMs` to answer; past that
 * the node is `silent`, and what it answers later is dropped. Once the check passed, `work` runs
 * to its end, bounded by DB_TIMEOUT_MS like any read. Failures of the node or of `work` are thrown.
 */
export async function readAtPosition<T>(
  node: PgNode,
  position: bigint,
  checkMs: number,
  snapshot: boolean,
  statements: ReadStatements,
  work: (reader: EntityReader) => Promise<T>,
): Promise<PositionAttempt<T>> {
  let gaveUp = false;
  let checked = false;
  let timer: NodeJS.Timeout | undefined;
  const silent = new Promise<PositionAttempt<T>>((resolve) => {
    timer = setTimeout(() => {
      if (checked) return;
      gaveUp = true;
      resolve({ kind: 'silent' });
    }, checkMs);
  });
  const gated =
    (base: RunRead): RunRead =>
    async (metadata, statement) => {
      if (checked) return base(metadata, statement);
      const rows = await base(metadata, statements.atPosition(metadata, statement, position));
      if (gaveUp || rows[0]?.[REACHED] !== true) throw new Lacks();
      checked = true;
      const key = statements.keyOf(metadata).databaseName;
      return rows.filter((r) => r[key] !== null).map(({ [REACHED]: _reached, ...image }) => image);
    };
  const serve = async (base: RunRead, runner: Runner): Promise<PositionAttempt<T>> => {
    try {
      const value = await work(new EntityReader(node.dataSource, statements, gated(base)));
      // A work that read nothing still answers only from a node that has the write.
      if (!checked && (gaveUp || !(await row(runner, hasPosition(position))).reached)) return { kind: 'lacks' };
      checked = true;
      return { kind: 'served', value };
    } catch (error) {
      if (error instanceof Lacks) return { kind: 'lacks' };
      throw error;
    }
  };
  const attempt = snapshot
    ? withRollback(node.pool, async (client) => {
        await client.query(BEGIN_SNAPSHOT);
        const outcome = await serve(onClient(client), client);
        await client.query(outcome.kind === 'served' ? 'COMMIT' : 'ROLLBACK');
        return outcome;
      })
    : serve(onPool(node.pool), node.pool);
  try {
    return await Promise.race([attempt, silent]);
  } finally {
    clearTimeout(timer);
  }
}
