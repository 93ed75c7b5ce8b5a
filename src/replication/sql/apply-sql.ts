import { escapeIdentifier } from 'pg';
import type { Change, ChangeOp, TableShape } from '../change';
import type { ClientBase } from 'pg';
import { ensurePrepared, type SessionStatement } from './session-statements';
import type { StatementBook } from './statement-book';
import { dollarQuote, literal } from './sql';

/** One log position's row images, as a follower applies them, and the gid that decided it. */
export interface ApplyEntry {
  position: bigint | string;
  gid: string;
  changes: Change[];
  /** `changes` as JSON, when the caller has it already. */
  json?: string;
}

/** The epoch and leader a follower must have recorded to take an apply (else SR003). */
export interface Fence {
  epoch: bigint;
  leader: string;
}

/** What a follower runs inside its transaction, and the session statements that must exist first. */
export interface ApplyScript {
  sql: string;
  statements: SessionStatement[];
}

/** The apply statements of one table shape, one per op, built once per shape (statement-book.ts). */
export type TableStatements = Record<ChangeOp, SessionStatement>;

/** How an apply reaches a follower: a live write's PREPARE, or a replay (catch-up, a promotion's union) that commits. */
export type ApplyKind = 'live' | 'replay';

/**
 * SQL that applies row images on a follower, exactly, and records each position, with its gid and
 * row images, in the same transaction (syncrep_applied and the follower's own syncrep_log: a
 * promoted follower serves catch-up from it). It first checks the follower is at `fence`'s epoch
 * and leader (SR003 otherwise), so a deposed leader's writes are refused by the node itself; a
 * live write is also refused (SR004) on a node marked as being repaired.
 *
 * Whether a position is applied is decided once, for the whole position (syncrep_claim): one the
 * node holds already is skipped whole; any other is applied exactly or refused whole. An insert
 * must insert; an update or delete must match exactly the rows the leader changed, found by the
 * key each had, each holding what it held on the leader just before (else syncrep_expect raises
 * SR001: this node diverged, or lacks an earlier write to the row). A row that happens to hold the
 * new values already is refused like any other mismatch: accepting it let one row of a write be
 * taken as applied while its other rows were updated, on a node lacking an earlier write.
 *
 * Each change runs as an EXECUTE of a per-connection prepared statement with a generic plan
 * (forced: a custom plan would be rebuilt for every write, as the row count is a parameter).
 */
export function applySql(entries: ApplyEntry[], fence: Fence, kind: ApplyKind, book: StatementBook): ApplyScript {
  const statements = new Map<string, SessionStatement>();
  const parts: string[] = [];
  for (const { position, gid, changes, json } of entries) {
    parts.push(takeSql(fence, kind, position, gid, dollarQuote(json ?? JSON.stringify(changes))));
    for (const change of changes) {
      const statement = book.apply(change)[change.op];
      statements.set(statement.name, statement);
      parts.push(`EXECUTE ${statement.name}(${argumentsOf(change, String(position))})`);
    }
  }
  return { sql: parts.join('; '), statements: [...statements.values()] };
}

/**
 * Checks the fence (and, for a live write, that the node carries no mark), then decides for the
 * whole position whether this transaction applies it, logging it if so; see the migrations'
 * syncrep_take and syncrep_claim.
 */
function takeSql(fence: Fence, kind: ApplyKind, position: bigint | string, gid: string, changesLiteral: string): string {
  const { epoch, leader } = fence;
  return `SELECT syncrep_take(${epoch}, ${literal(leader)}, ${kind === 'live'}, ${literal(String(position))}::bigint, ${literal(gid)}, ${changesLiteral})`;
}

/** Whether the last position taken is applied here: the changes of a position held already run on no row. */
const TAKEN = "current_setting('syncrep.take')::boolean";

/**
 * Runs `apply` in a transaction of its own on a follower connection, in one round trip, ended by
 * `end` (COMMIT, or PREPARE TRANSACTION): its statements are PREPAREd first where missing.
 */
export async function applyOn(client: ClientBase, apply: ApplyScript, end: string): Promise<void> {
  await ensurePrepared(client, apply.statements);
  await client.query(`BEGIN; ${apply.sql}; ${end}`);
}

function argumentsOf(change: Change, position: string): string {
  const what = literal(`${change.op} on ${change.table} at position ${position}`);
  // A position held already is applied as zero rows, which zero rows then match.
  const n = `CASE WHEN ${TAKEN} THEN ${change.rows.length} ELSE 0 END`;
  // An update ships each row's new image beside the image the follower must still hold.
  const images = change.op === 'update' ? change.rows.map((r, i) => ({ r, b: (change.before ?? [])[i] })) : change.rows;
  return `${dollarQuote(JSON.stringify(images))}, ${n}, ${what}`;
}

/** Parameters of every apply statement: $1 the images (jsonb array), $2 how many, $3 what to call the change in an error. */
const PARAMS = '(jsonb, int, text)';

/**
 * The apply statements of one table shape, named `${prefix}_<op>`; `returnsOld` when every node
 * runs PostgreSQL 18 or later, whose UPDATE returns each row's prior image (`RETURNING old`).
 */
export function applyStatementsOf(
  { table, key, columns, sequences = [] }: TableShape,
  prefix: string,
  returnsOld: boolean,
): TableStatements {
  const name = escapeIdentifier(table);
  const cols = columns.map(escapeIdentifier);
  const keys = key.map(escapeIdentifier);
  const row = (alias: string) => `ROW(${cols.map((c) => `${alias}.${c}`).join(', ')})`;
  const keyMatch = (a: string, b: string) => keys.map((k) => `${a}.${k} = ${b}.${k}`).join(' AND ');
  // The planner cannot see $2 in a generic plan: a LIMIT by a parameter makes it assume a tenth of
  // the function's 100 rows, so each row is looked up by key rather than hashed against a full scan.
  const images = `(SELECT * FROM jsonb_populate_recordset(NULL::${name}, $1) LIMIT $2)`;
  const check = (differing: string) => `SELECT syncrep_expect(count(*)::int, ${differing}, $2, $3) FROM c`;
  const statement = (op: ChangeOp, body: string): SessionStatement => ({ name: `${prefix}_${op}`, definition: `${PARAMS} AS ${body}` });
  const pairs = `(SELECT e FROM jsonb_array_elements($1) AS e LIMIT $2) AS x`;
  // The row as the UPDATE replaced it: after waiting for any write that held it prepared, and
  // whatever the plan, so the comparison is exact and the update needs no lock of its own first.
  // Each image is a function scan of its own, so it is built once per row, not once per column.
  const updateReturningOld =
    `WITH c AS (UPDATE ${name} AS t SET ${cols.map((c) => `${c} = r.${c}`).join(', ')} FROM ${pairs}, ` +
    `jsonb_populate_record(NULL::${name}, x.e -> 'r') AS r, jsonb_populate_record(NULL::${name}, x.e -> 'b') AS b ` +
    `WHERE ${keyMatch('t', 'b')} RETURNING ${row('old')} IS NOT DISTINCT FROM ${row('b')} AS same) ` +
    check('count(*) FILTER (WHERE NOT same)::int');
  // Before PostgreSQL 18 an UPDATE cannot return the row it replaced, and its SET is computed from
  // the row as first scanned (before waiting for a write holding it prepared). So each row is
  // locked first (waiting, then reading it as that write left it), compared whole with the image
  // it must hold, and updated only then; looked up by key, row by row (a join lets a generic plan
  // scan the whole table).
  const updateLockingFirst =
    `WITH p AS (SELECT r, b FROM ${pairs}, jsonb_populate_record(NULL::${name}, x.e -> 'r') AS r, ` +
    `jsonb_populate_record(NULL::${name}, x.e -> 'b') AS b), ` +
    `l AS (SELECT k.same, p.r, p.b FROM p CROSS JOIN LATERAL (SELECT ${row('t')} IS NOT DISTINCT FROM ${row('(p.b)')} AS same ` +
    `FROM ${name} AS t WHERE ${keyMatch('t', '(p.b)')} FOR UPDATE) AS k), ` +
    `c AS (UPDATE ${name} AS t SET ${cols.map((c) => `${c} = (l.r).${c}`).join(', ')} FROM l WHERE l.same AND ${keyMatch('t', '(l.b)')} RETURNING 1) ` +
    `SELECT syncrep_expect((SELECT count(*) FROM c)::int, (SELECT count(*) FILTER (WHERE NOT same) FROM l)::int, $2, $3)`;
  // Generated keys: each sequence moved past the largest value inserted (see syncrep_keep_up, migration 0009).
  const keepUp = sequences.map(
    (column) =>
      `, syncrep_keep_up(pg_get_serial_sequence(${literal(name)}, ${literal(column)})::regclass, max(c.${escapeIdentifier(column)})::bigint)`,
  );
  const insertCheck = `${check('0').replace(' FROM c', '')}${keepUp.join('')} FROM c`;
  return {
    insert: statement(
      'insert',
      `WITH c AS (INSERT INTO ${name} (${cols.join(', ')}) SELECT ${cols.join(', ')} FROM ${images} AS r RETURNING *) ${insertCheck}`,
    ),
    update: statement('update', returnsOld ? updateReturningOld : updateLockingFirst),
    delete: statement(
      'delete',
      `WITH c AS (DELETE FROM ${name} AS t USING ${images} AS r WHERE ${keyMatch('t', 'r')} ` +
        `RETURNING ${row('t')} IS NOT DISTINCT FROM ${row('r')} AS same) ` +
        check('count(*) FILTER (WHERE NOT same)::int'),
    ),
  };
}
