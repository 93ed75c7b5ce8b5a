import DataLoader from 'dataloader';
import type { EntityMetadata } from 'typeorm/metadata/EntityMetadata';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';
import type { RowImage } from '../change';
import type { PgNode } from '../nodes/cluster-node';
import { readBlocker } from '../nodes/node-state';
import type { ColumnValue } from '../entities/entity-rows';
import type { ReadMetrics } from './read-metrics';
import type { ReadStatements } from './read-statements';

/**
 * The key types grouped, with the values each stores. Their values come back from PostgreSQL
 * exactly as they were sent (no case folding, no collation, no other spellings), so that a row
 * can be given to the read that asked for it by its key alone. A key outside the range goes
 * alone, so that PostgreSQL's refusal ("out of range for type integer") is that read's own and
 * not its neighbours'.
 */
const KEY_RANGE: Partial<Record<string, readonly [bigint, bigint]>> = {
  int2: [-(2n ** 15n), 2n ** 15n - 1n],
  smallint: [-(2n ** 15n), 2n ** 15n - 1n],
  int: [-(2n ** 31n), 2n ** 31n - 1n],
  int4: [-(2n ** 31n), 2n ** 31n - 1n],
  integer: [-(2n ** 31n), 2n ** 31n - 1n],
  int8: [-(2n ** 63n), 2n ** 63n - 1n],
  bigint: [-(2n ** 63n), 2n ** 63n - 1n],
};

/** One table's grouped reads: its loader, and the range of its key (none: its reads are not grouped). */
interface TableBatch {
  loader: DataLoader<ColumnValue, RowImage | null>;
  range: readonly [bigint, bigint] | undefined;
}

/**
 * The node a batch waited for can no longer serve reads (down, or out of sync): its reads go to
 * the next candidate. Not a failure of the node's connection: its state says why already.
 */
export class NodeStoppedServing extends Error {}

/** How many statements of one table a node runs at once, and how many keys one may carry. */
export interface ReadBatchLimits {
  /** Statements in flight per table; reads that arrive while they are wait and go together. */
  concurrency: number;
  /** Most keys in one statement (WRITE_BATCH_MAX, as for writes). */
  batchMax: number;
}

/**
 * Group reads by key on one node, as the write batcher groups writes: while `concurrency`
 * statements of a table are in flight, reads of that table by one key wait and go, up to
 * `batchMax` keys together, in the next one (`WHERE key = ANY($1)`). Under light load every read
 * goes at once, alone. Each read gets the row of its own key, or null; a statement that fails
 * fails the reads it carried (they asked the same node the same thing), and no other.
 * DataLoader does the collecting and the handing back; this class decides when a batch may go.
 */
export class KeyReadBatcher {
  private readonly tables = new Map<unknown, TableBatch>();
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly node: PgNode,
    /** Whether `node` is still one of the cluster's nodes (a role change replaces the object). */
    private readonly serves: () => boolean,
    private readonly statements: ReadStatements,
    private readonly limits: ReadBatchLimits,
    private readonly metrics: ReadMetrics,
  ) {}

  /** Whether a read of `metadata`'s table by `key` can join others: an integer key (KEY_RANGE) that its column can hold. */
  batches(metadata: EntityMetadata, key: ColumnValue): boolean {
    const { range } = this.tableOf(metadata);
    const text = String(key);
    if (!range || !/^-?\d{1,19}$/.test(text)) return false;
    const value = BigInt(text);
    // Only the spelling PostgreSQL gives back ("5", not "05" or "-0"): rows are handed back by it.
    return String(value) === text && value >= range[0] && value <= range[1];
  }

  /** The row of `metadata`'s table whose key is `key` (as the column stores it), or null. */
  load(metadata: EntityMetadata, key: ColumnValue): Promise<RowImage | null> {
    return this.tableOf(metadata).loader.load(key);
  }

  private tableOf(metadata: EntityMetadata): TableBatch {
    const known = this.tables.get(metadata.target);
    if (known) return known;
    const column = this.statements.keyOf(metadata);
    const table: TableBatch = {
      loader: new DataLoader<ColumnValue, RowImage | null>((keys) => this.run(metadata, column, keys), {
        cache: false,
        maxBatchSize: this.limits.batchMax,
        batchScheduleFn: (dispatch) => this.schedule(dispatch),
      }),
      range: KEY_RANGE[String(metadata.connection.driver.normalizeType(column))],
    };
    this.tables.set(metadata.target, table);
    return table;
  }

  /** A batch goes once a slot is free; until then later reads of the table join it. */
  private schedule(dispatch: () => void): void {
    if (this.running < this.limits.concurrency) {
      this.running += 1;
      // After the reads of this turn of the event loop have joined.
      setImmediate(dispatch);
    } else this.waiting.push(dispatch);
  }

  private async run(metadata: EntityMetadata, column: ColumnMetadata, keys: readonly ColumnValue[]): Promise<(RowImage | null)[]> {
    try {
      // Found down while this batch waited for a slot: its reads go to the next node now, rather
      // than each waiting out a timeout on a node already known not to answer.
      const blocker = this.serves() ? readBlocker(this.node.state) : 'its role changed';
      if (blocker) throw new NodeStoppedServing(`node "${this.node.name}" stopped serving reads while they waited: ${blocker}`);
      const distinct = [...new Set(keys)];
      this.metrics.batch(distinct.length);
      const rows = (await this.node.pool.query<RowImage>(this.statements.byKeys(metadata, distinct))).rows;
      const byKey = new Map(rows.map((r) => [String(r[column.databaseName]), r]));
      return keys.map((k) => byKey.get(String(k)) ?? null);
    } finally {
      const next = this.waiting.shift();
      if (next) setImmediate(next);
      else this.running -= 1;
    }
  }
}
