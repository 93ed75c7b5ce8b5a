import type { DataSource, ObjectLiteral } from 'typeorm';
import type { Change, RowImage } from '../change';
import { toEntity } from '../entities/entity-rows';
import {
  BEFORE_IMAGE,
  deleteStatement,
  insertStatement,
  lockStatement,
  updateStatement,
  type Changes,
  type Criteria,
  type EntityStatement,
  type Values,
} from '../entities/entity-sql';
import type { EntityClass, WriteTx } from '../entities/write-tx';

/** Sends one statement of a write to the leader and gives back the rows it returned, as PostgreSQL named them. */
export type StatementSender = (statement: EntityStatement) => Promise<RowImage[]>;

/**
 * The leader's side of the write API (entities/write-tx.ts): builds each statement from the
 * entity's metadata and hands it to `send`, which decides how it travels (with the rest of a
 * batch, or alone under a savepoint: leader-batch.ts). Once closed, a statement is refused: a
 * call not awaited before the write's `run` settled is not part of it.
 */
export class LeaderTx implements WriteTx {
  private closed = false;

  constructor(
    private readonly dataSource: DataSource,
    /** The leader returns an UPDATE's prior rows itself (PostgreSQL 18); see updateStatement. */
    private readonly returnsOld: boolean,
    private readonly send: StatementSender,
  ) {}

  close(): void {
    this.closed = true;
  }

  async insert<E extends ObjectLiteral>(entity: EntityClass<E>, values: Values<E>): Promise<E> {
    return (await this.insertMany(entity, [values]))[0];
  }

  insertMany<E extends ObjectLiteral>(entity: EntityClass<E>, values: readonly Values<E>[]): Promise<E[]> {
    return this.exec(() => insertStatement(this.metadata(entity), values));
  }

  update<E extends ObjectLiteral>(entity: EntityClass<E>, where: Criteria<E>, changes: Changes<E>): Promise<E[]> {
    return this.exec(() => updateStatement(this.metadata(entity), where, changes, this.returnsOld));
  }

  delete<E extends ObjectLiteral>(entity: EntityClass<E>, where: Criteria<E>): Promise<E[]> {
    return this.exec(() => deleteStatement(this.metadata(entity), where));
  }

  lock<E extends ObjectLiteral>(entity: EntityClass<E>, where: Criteria<E>): Promise<E[]> {
    return this.exec(() => lockStatement(this.metadata(entity), where));
  }

  /**
   * Lock, then update or insert: the row found is locked before it is changed; an insert that meets a row committed meanwhile
   * inserts nothing (ON CONFLICT DO NOTHING), and the next turn finds and updates that row.
   */
  async upsert<E extends ObjectLiteral>(entity: EntityClass<E>, values: Values<E>, conflict?: readonly (keyof E & string)[]): Promise<E> {
    const metadata = this.metadata(entity);
    const on = conflict ?? metadata.primaryColumns.map((c) => c.propertyName);
    const given = values as Record<string, unknown>;
    for (const property of on)
      if (given[property] === undefined || given[property] === null)
        throw new Error(`${metadata.name}: an upsert needs a value for "${property}", which it matches rows by`);
    const criteria = Object.fromEntries(on.map((p) => [p, given[p]])) as Criteria<E>;
    const rest = Object.fromEntries(Object.entries(given).filter(([p, v]) => !on.includes(p) && v !== undefined)) as Changes<E>;
    for (let turn = 0; turn < 3; turn++) {
      const [found] = await this.lock(entity, criteria);
      if (found) {
        if (Object.keys(rest).length === 0) return found;
        const key = Object.fromEntries(metadata.primaryColumns.map((c) => [c.propertyName, c.getEntityValue(found)])) as Criteria<E>;
        return (await this.update(entity, key, rest))[0];
      }
      const [inserted] = await this.exec<E>(() => insertStatement(metadata, [values], on));
      if (inserted) return inserted;
    }
    throw new Error(`${metadata.name}: the upsert kept meeting rows inserted and deleted meanwhile`);
  }

  private metadata(entity: EntityClass<ObjectLiteral>) {
    return this.dataSource.getMetadata(entity);
  }

  private exec<E>(build: () => EntityStatement): Promise<E[]> {
    const result = (async () => {
      if (this.closed) throw new Error('this write has ended: a statement sent after its run() settled is not part of it');
      const statement = build();
      const raw = await this.send(statement);
      return raw.map((r) => toEntity<E>(statement.metadata, r));
    })();
    // A statement the write issued but never awaited (it threw first) is not sent, or starts
    // over: its rejection is the batch's business, not an unhandled one that ends the process.
    result.catch(() => undefined);
    return result;
  }
}

/**
 * Splits the rows a statement returned into the rows the write sees and the change followers
 * apply: none for a lock, or for a statement that changed no row.
 */
export function toChange(statement: EntityStatement, returned: RowImage[]): { rows: RowImage[]; change?: Change } {
  if (statement.op === 'lock' || returned.length === 0) return { rows: returned };
  if (statement.op !== 'update') return { rows: returned, change: { ...statement.table, op: statement.op, rows: returned } };
  const rows = returned.map(({ [BEFORE_IMAGE]: _before, ...row }) => row);
  const before = returned.map((row) => row[BEFORE_IMAGE] as RowImage);
  return { rows, change: { ...statement.table, op: 'update', rows, before } };
}
