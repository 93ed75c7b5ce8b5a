import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Bookkeeping for a bounded log, on every node:
 * - `syncrep_trim.upto` (leader): every log entry at or below it has been deleted;
 * - `syncrep_watermark.upto` (follower): every committed position at or below it is applied here,
 *   so the per-position rows below it can go. A follower whose watermark is below the leader's
 *   trim point can no longer catch up from the log and is rebuilt from a snapshot instead.
 */
export class LogRetention1732600000002 implements MigrationInterface {
  name = 'LogRetention1732600000002';

  async up(runner: QueryRunner): Promise<void> {
    for (const table of ['syncrep_trim', 'syncrep_watermark']) {
      await runner.query(`CREATE TABLE IF NOT EXISTS ${table} (id int PRIMARY KEY CHECK (id = 1), upto bigint NOT NULL)`);
      await runner.query(`INSERT INTO ${table} VALUES (1, 0) ON CONFLICT (id) DO NOTHING`);
    }
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE syncrep_watermark');
    await runner.query('DROP TABLE syncrep_trim');
  }
}
