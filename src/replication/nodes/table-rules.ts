import { escapeIdentifier } from 'pg';
import type { DataSource } from 'typeorm';
import type { Statement } from '../sql/statement';

/**
 * Foreign-key actions other than NO ACTION and RESTRICT, user triggers and rules, on or into the
 * replicated tables: each changes rows that no statement returns, so the leader would commit
 * them and no follower would see them. One line per finding.
 */
function rowsNoStatementReturns(tables: readonly string[]): Statement<{ finding: string }> {
  return {
    text: `SELECT format('foreign key %s on %s (ON DELETE %s, ON UPDATE %s)', c.conname, c.conrelid::regclass,
                    ${action('c.confdeltype')}, ${action('c.confupdtype')}) AS finding
             FROM pg_constraint c
            WHERE c.contype = 'f' AND (c.conrelid = ANY($1::regclass[]) OR c.confrelid = ANY($1::regclass[]))
              AND (c.confdeltype NOT IN ('a', 'r') OR c.confupdtype NOT IN ('a', 'r'))
           UNION ALL
           SELECT format('trigger %s on %s', t.tgname, t.tgrelid::regclass)
             FROM pg_trigger t WHERE NOT t.tgisinternal AND t.tgrelid = ANY($1::regclass[])
           UNION ALL
           SELECT format('rule %s on %s', r.rulename, r.ev_class::regclass)
             FROM pg_rewrite r WHERE r.rulename <> '_RETURN' AND r.ev_class = ANY($1::regclass[])
           ORDER BY 1`,
    values: [tables.map(escapeIdentifier)],
  };
}

const action = (column: string) =>
  `CASE ${column} WHEN 'a' THEN 'NO ACTION' WHEN 'r' THEN 'RESTRICT' WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL' ELSE 'SET DEFAULT' END`;

/**
 * What on this node's replicated tables syncrep cannot replicate (see rowsNoStatementReturns), as
 * a sentence naming each, or undefined when there is nothing.
 */
export async function unreplicableOn(dataSource: DataSource): Promise<string | undefined> {
  const statement = rowsNoStatementReturns(dataSource.entityMetadatas.map((m) => m.tableName));
  const found = (await dataSource.query<{ finding: string }[]>(statement.text, statement.values)).map((r) => r.finding);
  if (found.length === 0) return undefined;
  return (
    `its replicated tables change rows that no statement returns, which followers would never see: ${found.join('; ')}. ` +
    'Use ON DELETE/ON UPDATE NO ACTION or RESTRICT, and drop the triggers and rules (do their work in the write instead).'
  );
}
