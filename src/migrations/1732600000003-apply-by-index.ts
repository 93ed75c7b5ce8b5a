import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * syncrep_apply, planned for the table's primary key. The planner cannot see how many rows a
 * jsonb_populate_recordset call yields and assumes 100, so it scanned the whole table and hashed
 * it for every single-row update or delete. A LIMIT of the known row count gives it the true
 * figure: an index lookup per row.
 */
export class ApplyByIndex1732600000003 implements MigrationInterface {
  name = 'ApplyByIndex1732600000003';

  async up(runner: QueryRunner): Promise<void> {
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
  }

  async down(): Promise<void> {
    // The earlier definition is equivalent in effect; nothing to undo.
  }
}
