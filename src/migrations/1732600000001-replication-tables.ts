import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * syncrep's own bookkeeping, created on every node (any node's schema is the same):
 * - `syncrep_log`: on the leader, one row per committed distributed write: its position, its
 *   two-phase-commit gid (the durable record that the decision was "commit") and its row images;
 * - `syncrep_applied`: on a follower, the positions it has applied, written in the same
 *   transaction as the change itself, so "applied" can never disagree with the data;
 * - `syncrep_apply(position, changes)`: applies a change set strictly by primary key.
 */
export class ReplicationTables1732600000001 implements MigrationInterface {
  name = 'ReplicationTables1732600000001';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query('CREATE SEQUENCE IF NOT EXISTS syncrep_position AS bigint');
    await runner.query(`CREATE TABLE IF NOT EXISTS syncrep_log (
      position bigint PRIMARY KEY DEFAULT nextval('syncrep_position'),
      gid text NOT NULL UNIQUE,
      changes jsonb NOT NULL,
      committed_at timestamptz NOT NULL DEFAULT clock_timestamp())`);
    await runner.query(`CREATE TABLE IF NOT EXISTS syncrep_applied (
      position bigint PRIMARY KEY,
      applied_at timestamptz NOT NULL DEFAULT clock_timestamp())`);
    // Strict apply: an insert must insert, an update or delete must touch exactly the rows the leader
    // touched; anything else means this node has diverged, and the whole write must fail (SQLSTATE SR001).
    // The planner cannot see how many rows jsonb_populate_recordset yields and assumes 100, which
    // made it scan and hash the whole table for every single-row change; a LIMIT of the known row
    // count gives it the true figure, and so an index lookup per row.
    await runner.query(`CREATE OR REPLACE FUNCTION syncrep_apply(p_position bigint, p_changes jsonb) RETURNS void
      LANGUAGE plpgsql AS $fn$
      DECLARE
        c jsonb; tbl text; cols text; sets text; keys text; expected int; touched int;
      BEGIN
        INSERT INTO syncrep_applied(position) VALUES (p_position);
        FOR c IN SELECT value FROM jsonb_array_elements(p_changes) LOOP
          tbl := c->>'table';
          expected := jsonb_array_length(c->'rows');
          SELECT string_agg(format('%I', k), ', '), string_agg(format('%1$I = r.%1$I', k), ', ')
            INTO cols, sets FROM jsonb_array_elements_text(c->'columns') AS k;
          SELECT string_agg(format('t.%1$I = r.%1$I', k), ' AND ')
            INTO keys FROM jsonb_array_elements_text(c->'key') AS k;
          CASE c->>'op'
            WHEN 'insert' THEN
              EXECUTE format('INSERT INTO %I AS t (%s) SELECT %s FROM jsonb_populate_recordset(NULL::%I, $1) AS r',
                tbl, cols, cols, tbl) USING c->'rows';
            WHEN 'update' THEN
              EXECUTE format('UPDATE %I AS t SET %s FROM (SELECT * FROM jsonb_populate_recordset(NULL::%I, $1) LIMIT %s) AS r WHERE %s',
                tbl, sets, tbl, expected, keys) USING c->'rows';
            WHEN 'delete' THEN
              EXECUTE format('DELETE FROM %I AS t USING (SELECT * FROM jsonb_populate_recordset(NULL::%I, $1) LIMIT %s) AS r WHERE %s',
                tbl, tbl, expected, keys) USING c->'rows';
            ELSE
              RAISE EXCEPTION 'syncrep: unknown change op %', c->>'op';
          END CASE;
          GET DIAGNOSTICS touched = ROW_COUNT;
          IF touched <> expected THEN
            RAISE EXCEPTION 'diverged: % on % touched % row(s) here but % on the leader', c->>'op', tbl, touched, expected
              USING ERRCODE = 'SR001';
          END IF;
        END LOOP;
      END
      $fn$`);
    // Catch-up applies a page of log entries in one call, strictly in position order.
    await runner.query(`CREATE OR REPLACE FUNCTION syncrep_apply_many(p_entries jsonb) RETURNS int
      LANGUAGE plpgsql AS $fn$
      DECLARE e jsonb; n int := 0;
      BEGIN
        FOR e IN SELECT value FROM jsonb_array_elements(p_entries) WITH ORDINALITY AS x(value, i) ORDER BY i LOOP
          PERFORM syncrep_apply((e->>'position')::bigint, e->'changes');
          n := n + 1;
        END LOOP;
        RETURN n;
      END
      $fn$`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP FUNCTION syncrep_apply_many(jsonb)');
    await runner.query('DROP FUNCTION syncrep_apply(bigint, jsonb)');
    await runner.query('DROP TABLE syncrep_applied');
    await runner.query('DROP TABLE syncrep_log');
    await runner.query('DROP SEQUENCE syncrep_position');
  }
}
