/** What a write changed, as the leader ships it to followers: types only, shared by every part of the replication layer. */

/** One row as the leader returned it, keyed by column name. */
export type RowImage = Record<string, unknown>;

export type ChangeOp = 'insert' | 'update' | 'delete';

/** Table name, primary key and columns: what a follower needs to apply row images by key. */
export interface TableShape {
  table: string;
  key: string[];
  columns: string[];
  /**
   * Columns whose values a sequence generates (identity, serial): a follower moves each one's
   * sequence past the values it applies, so that promoted, it hands out none used already.
   * Absent in entries logged before department (migration 0009) and for tables without any.
   */
  sequences?: string[];
}

/** Row images of one statement run on the leader; followers apply exactly these. */
export interface Change extends TableShape {
  op: ChangeOp;
  /** Rows after the change (for a delete: the rows deleted). */
  rows: RowImage[];
  /** For an update, each row as it was just before, in the same order: a follower must hold exactly that. */
  before?: RowImage[];
}
