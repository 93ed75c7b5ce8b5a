import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * syncrep's own bookkeeping, created on every node (any node's schema is the same):
 * - `syncrep_log`: on the leader, one row per committed distributed write: its position, its
 *   two-phase-commit gid (the durable record that the decision was "commit") and its row images;
 * - `syncrep_applied`: on a follower, the positions it has applied, written in the same
 *   transaction as the change itself, so "applied" can never disagree with the data;
 * - `syncrep_expect(...)`: raises when a follower's rows do not match the leader's (see apply-sql.ts).
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
    // Followers apply row images strictly (see replication/apply-sql.ts); this reports a mismatch.
    await runner.query(`CREATE OR REPLACE FUNCTION syncrep_expect(touched int, differing int, expected int, what text) RETURNS void
      LANGUAGE plpgsql AS $fn$
      BEGIN
        IF differing > 0 THEN
          RAISE EXCEPTION 'diverged: % row(s) here differ from the leader''s before this %', differing, what USING ERRCODE = 'SR001';
        END IF;
        IF touched <> expected THEN
          RAISE EXCEPTION 'diverged: % matched % row(s) here but % on the leader', what, touched, expected USING ERRCODE = 'SR001';
        END IF;
      END
      $fn$`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP FUNCTION syncrep_expect(int, int, int, text)');
    await runner.query('DROP TABLE syncrep_applied');
    await runner.query('DROP TABLE syncrep_log');
    await runner.query('DROP SEQUENCE syncrep_position');
  }
}
