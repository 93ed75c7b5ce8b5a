import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `syncrep_confirm(...)`: raises SR002 when the leader's rows for the keys a batch touched differ
 * from the row images it is about to ship (see replication/confirm-sql.ts). It runs in the
 * leader's commit round trip, so a batch whose rows differ is never committed anywhere.
 */
export class LeaderConfirm1732600000003 implements MigrationInterface {
  name = 'LeaderConfirm1732600000003';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`CREATE OR REPLACE FUNCTION syncrep_confirm(differing int, checked int, what text) RETURNS void
      LANGUAGE plpgsql AS $fn$
      BEGIN
        IF differing > 0 THEN
          RAISE EXCEPTION 'the leader''s rows differ from the row images shipped to the followers in % of % key(s) of %; nothing was committed',
            differing, checked, what USING ERRCODE = 'SR002';
        END IF;
      END
      $fn$`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP FUNCTION syncrep_confirm(int, int, text)');
  }
}
