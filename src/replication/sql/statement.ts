/**
 * A statement on syncrep's own tables (syncrep_log, syncrep_applied, syncrep_watermark,
 * syncrep_trim, the syncrep_position sequence, the marks and epochs) or on the catalog views it
 * reads. Each is a named function in the *-statements.ts module of its topic: the rest of the
 * replication layer holds no SQL of its own about them. A statement carries the type of its rows,
 * so callers read typed fields. A `*Sql()` function returns a fragment instead, for a message that
 * carries several statements in one round trip (values inlined with `literal`).
 *
 * Positions travel as text (bigint), so every ORDER BY names the bigint column itself: an output
 * column of the same name would win, and sort '100' before '34'.
 */
export interface Statement<Row> {
  text: string;
  values?: unknown[];
  /** Never set: it only carries the row type. */
  readonly row?: Row;
}

/** A statement of `text` with `values` for its parameters, returning rows of type Row. */
export const statement = <Row>(text: string, values?: unknown[]): Statement<Row> => ({ text, values });
