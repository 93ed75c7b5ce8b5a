import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `syncrep_divergence`, on every node: set on a follower when it is found diverged, cleared by
 * the rebuild that repairs it. The state DIVERGED lives in a server's memory; this mark keeps it
 * across a restart and shows it to every server sharing the cluster (their health checks read it).
 */
export class DivergenceMark1732600000004 implements MigrationInterface {
  name = 'DivergenceMark1732600000004';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`CREATE TABLE IF NOT EXISTS syncrep_divergence (
      id int PRIMARY KEY CHECK (id = 1),
      reason text NOT NULL,
      marked_at timestamptz NOT NULL DEFAULT clock_timestamp())`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE syncrep_divergence');
  }
}
