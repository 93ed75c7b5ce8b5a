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
    // Strict apply: an insert must insert; an update or delete must touch exactly the rows the leader
    // touched, each holding, column for column, what it held on the leader just before the change
    // (updates carry those images in 'before'; a delete's rows are them). Anything else means this
    // node has diverged or is missing an earlier write to the row, and the whole write must fail
    // (SQLSTATE SR001) rather than leave the row different from the leader's.
    // The planner cannot see how many rows jsonb_populate_recordset yields and assumes 100, which
    // made it scan and hash the whole table for every single-row change; a LIMIT of the known row
    // count gives it the true figure, and so an index lookup per row.
    await runner.query(`CREATE OR REPLACE FUNCTION syncrep_apply(p_position bigint, p_changes jsonb) RETURNS void
      LANGUAGE plpgsql AS $fn$
      DECLARE
        c jsonb; tbl text; cols text; tcols text; bcols text; rcols text; sets text; keys text; bkeys text;
        expected int; touched int; differing int;
      BEGIN
        INSERT INTO syncrep_applied(position) VALUES (p_position);
        FOR c IN SELECT value FROM jsonb_array_elements(p_changes) LOOP
          tbl := c->>'table';
          differing := 0;
          expected := jsonb_array_length(c->'rows');
          -- A row takes the new image only if it still holds the leader's before image; otherwise it
          -- keeps its own and is counted below. Nothing may raise inside the UPDATE itself: a row a
          -- write has prepared here is first evaluated as it was, and again once that write has
          -- committed, and only the second evaluation counts.
          SELECT string_agg(format('%I', k), ', ' ORDER BY i), string_agg(format('t.%I', k), ', ' ORDER BY i),
                 string_agg(format('b.%I', k), ', ' ORDER BY i), string_agg(format('r.%I', k), ', ' ORDER BY i)
            INTO cols, tcols, bcols, rcols FROM jsonb_array_elements_text(c->'columns') WITH ORDINALITY AS x(k, i);
          SELECT string_agg(format('%1$I = CASE WHEN ROW(%2$s) IS NOT DISTINCT FROM ROW(%3$s) THEN r.%1$I ELSE t.%1$I END', k, tcols, bcols), ', ')
            INTO sets FROM jsonb_array_elements_text(c->'columns') AS k;
          SELECT string_agg(format('t.%1$I = r.%1$I', k), ' AND '), string_agg(format('b.%1$I = r.%1$I', k), ' AND ')
            INTO keys, bkeys FROM jsonb_array_elements_text(c->'key') AS k;
          CASE c->>'op'
            WHEN 'insert' THEN
              EXECUTE format('INSERT INTO %I AS t (%s) SELECT %s FROM jsonb_populate_recordset(NULL::%I, $1) AS r',
                tbl, cols, cols, tbl) USING c->'rows';
              GET DIAGNOSTICS touched = ROW_COUNT;
            WHEN 'update' THEN
              EXECUTE format('WITH u AS (UPDATE %I AS t SET %s FROM (SELECT * FROM jsonb_populate_recordset(NULL::%I, $1) LIMIT %s) AS r, '
                  '(SELECT * FROM jsonb_populate_recordset(NULL::%I, $2) LIMIT %s) AS b WHERE %s AND %s '
                  'RETURNING ROW(%s) IS NOT DISTINCT FROM ROW(%s) AS same) SELECT count(*), count(*) FILTER (WHERE NOT same) FROM u',
                tbl, sets, tbl, expected, tbl, expected, keys, bkeys, tcols, rcols) USING c->'rows', c->'before' INTO touched, differing;
            WHEN 'delete' THEN
              EXECUTE format('WITH d AS (DELETE FROM %I AS t USING (SELECT * FROM jsonb_populate_recordset(NULL::%I, $1) LIMIT %s) AS r '
                  'WHERE %s RETURNING ROW(%s) IS NOT DISTINCT FROM ROW(%s) AS same) SELECT count(*), count(*) FILTER (WHERE NOT same) FROM d',
                tbl, tbl, expected, keys, tcols, rcols) USING c->'rows' INTO touched, differing;
            ELSE
              RAISE EXCEPTION 'syncrep: unknown change op %', c->>'op';
          END CASE;
          IF differing > 0 THEN
            RAISE EXCEPTION 'diverged: % row(s) of % here differ from the leader''s before this %', differing, tbl, c->>'op'
              USING ERRCODE = 'SR001';
          END IF;
          IF touched <> expected THEN
            RAISE EXCEPTION 'diverged: % on % matched % row(s) here but % on the leader', c->>'op', tbl, touched, expected
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
