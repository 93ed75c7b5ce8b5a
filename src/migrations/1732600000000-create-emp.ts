import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The tutorial's table. IF NOT EXISTS: nodes set up by the tutorial already have it, with their rows. */
export class CreateEmp1732600000000 implements MigrationInterface {
  name = 'CreateEmp1732600000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query('CREATE TABLE IF NOT EXISTS emp (id INT PRIMARY KEY NOT NULL, name TEXT NOT NULL, salary INT NOT NULL)');
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE emp');
  }
}
