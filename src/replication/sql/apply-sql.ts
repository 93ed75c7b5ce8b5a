import { escapeIdentifier } from 'pg';
import type { Change, ChangeOp, TableShape } from '../change';
import type { ClientBase } from 'pg';
import { ensurePrepared, perShape, type SessionStatement } from './session-statements';
import { dollarQuote, literal } from './sql';
import { checkEpochSql, logDecisionSql, recordAppliedSql } from './statements';

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

/** The apply statements of one table shape, one per op, built once per process. */
type TableStatements = Record<ChangeOp, SessionStatement>;

/**
 * SQL that applies row images on a follower, strictly, and records each position, with its gid
 * and row images, in the same transaction (syncrep_applied and the follower's own syncrep_log:
 * a promoted follower serves catch-up from it). It first checks the follower is at `fence`'s
 * epoch and leader (SR003 otherwise), so a deposed leader's writes are refused by the node itself. An insert must insert; an update or delete must match exactly the rows the leader
 * changed, found by the key each had, each holding what it held on the leader just before (else
 * syncrep_expect raises SR001: this node diverged, or lacks an earlier write to the row). One
 * exception: a row that already holds the leader's new values is left as it is and accepted, as
 * nothing would be overwritten or lost. Rows a write has prepared here but not committed are
 * waited for and compared as they are once it commits, so nothing may raise inside the UPDATE or
 * DELETE itself: mismatches are counted and checked after.
 *
 * Each change runs as an EXECUTE of a per-connection prepared statement with a generic plan
 * (forced: a custom plan would be rebuilt for every write, as the row count is a parameter).
 */
export function applySql(entries: ApplyEntry[], fence: Fence): ApplyScript {
  const statements = new Map<string, SessionStatement>();
  const parts = [checkEpochSql(fence.epoch, fence.leader, false), 'SET LOCAL plan_cache_mode = force_generic_plan'];
  for (const { position, gid, changes, json } of entries) {
    parts.push(recordAppliedSql(position), logDecisionSql(BigInt(position), gid, dollarQuote(json ?? JSON.stringify(changes))));
    for (const change of changes) {
      const statement = statementsFor(change)[change.op];
      statements.set(statement.name, statement);
      parts.push(`EXECUTE ${statement.name}(${argumentsOf(change, String(position))})`);
    }
  }
  return { sql: parts.join('; '), statements: [...statements.values()] };
}

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
  const n = change.rows.length;
  // An update ships each row's new image beside the image the follower must still hold.
  const images = change.op === 'update' ? change.rows.map((r, i) => ({ r, b: (change.before ?? [])[i] })) : change.rows;
  return `${dollarQuote(JSON.stringify(images))}, ${n}, ${what}`;
}

const statementsFor = perShape('syncrep_apply', buildStatements);

/** Parameters of every apply statement: $1 the images (jsonb array), $2 how many, $3 what to call the change in an error. */
const PARAMS = '(jsonb, int, text)';

function buildStatements({ table, key, columns }: TableShape, prefix: string): TableStatements {
  const name = escapeIdentifier(table);
  const cols = columns.map(escapeIdentifier);
  const keys = key.map(escapeIdentifier);
  const row = (alias: string) => `ROW(${cols.map((c) => `${alias}.${c}`).join(', ')})`;
  const keyMatch = (a: string, b: string) => keys.map((k) => `${a}.${k} = ${b}.${k}`).join(' AND ');
  // The planner cannot see $2 in a generic plan: a LIMIT by a parameter makes it assume a tenth of
  // the function's 100 rows, so each row is looked up by key rather than hashed against a full scan.
  const images = `(SELECT * FROM jsonb_populate_recordset(NULL::${name}, $1) LIMIT $2)`;
  const check = (differing: string) => `SELECT syncrep_expect(count(*)::int, ${differing}, $2, $3) FROM c`;
  // Only the key may be in the WHERE clause: a row that another write holds prepared is scanned as
  // it was, and only a row that passed the WHERE is waited for and re-read. The comparison with
  // the prior values must see the row as it is once that write commits, so it goes in the SET.
  const guardedSets = cols
    .map((c) => `${c} = CASE WHEN ${row('t')} IS NOT DISTINCT FROM ${row('b')} THEN r.${c} ELSE t.${c} END`)
    .join(', ');
  const statement = (op: ChangeOp, body: string): SessionStatement => ({ name: `${prefix}_${op}`, definition: `${PARAMS} AS ${body}` });
  return {
    insert: statement(
      'insert',
      `WITH c AS (INSERT INTO ${name} (${cols.join(', ')}) SELECT ${cols.join(', ')} FROM ${images} AS r RETURNING 1) ${check('0')}`,
    ),
    update: statement(
      'update',
      `WITH c AS (UPDATE ${name} AS t SET ${guardedSets} ` +
        `FROM (SELECT e FROM jsonb_array_elements($1) AS e LIMIT $2) AS p, ` +
        `jsonb_populate_record(NULL::${name}, p.e -> 'r') AS r, jsonb_populate_record(NULL::${name}, p.e -> 'b') AS b ` +
        `WHERE ${keyMatch('t', 'b')} RETURNING ${row('t')} IS NOT DISTINCT FROM ${row('r')} AS same) ` +
        check('count(*) FILTER (WHERE NOT same)::int'),
    ),
    delete: statement(
      'delete',
      `WITH c AS (DELETE FROM ${name} AS t USING ${images} AS r WHERE ${keyMatch('t', 'r')} ` +
        `RETURNING ${row('t')} IS NOT DISTINCT FROM ${row('r')} AS same) ` +
        check('count(*) FILTER (WHERE NOT same)::int'),
    ),
  };
}
