import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `syncrep_take(e, l, live, p, g, c)`: everything a follower's apply does for one position before
 * its row statements, in one call (each statement of an apply's script is parsed and planned
 * afresh; a function's are planned once per connection):
 * - the epoch check, and for a live write the mark check too (`syncrep_check_live`) and that its
 *   position lies in the epoch's range (SR003 otherwise: a position taken from a new leader's
 *   sequence before its promotion set it could equal one an older epoch used, which this node
 *   would skip as held);
 * - forces generic plans for the rest of the transaction (the apply statements are PREPAREd with
 *   the row count as a parameter, so a custom plan would be rebuilt for every write);
 * - the one decision of whether this transaction applies position `p` (`syncrep_claim`), kept in
 *   the transaction's `syncrep.take` setting for the row statements that follow, and the
 *   position's entry in the follower's own log when it is taken.
 */
export class ApplyTake1732600000007 implements MigrationInterface {
  name = 'ApplyTake1732600000007';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`CREATE OR REPLACE FUNCTION syncrep_take(e bigint, l text, live boolean, p bigint, g text, c jsonb) RETURNS boolean
      LANGUAGE plpgsql AS $fn$
      DECLARE
        taken boolean;
      BEGIN
        IF live THEN
          PERFORM syncrep_check_live(e, l);
          IF p >> 40 <> e THEN
            RAISE EXCEPTION 'position % is not in epoch %''s range: it was taken before the leader''s promotion set its sequence', p, e
              USING ERRCODE = 'SR003';
          END IF;
        ELSE
          PERFORM syncrep_check_epoch(e, l, false);
        END IF;
        PERFORM set_config('plan_cache_mode', 'force_generic_plan', true);
        taken := syncrep_claim(p);
        IF taken THEN
          INSERT INTO syncrep_log (position, gid, changes) VALUES (p, g, c);
        END IF;
        PERFORM set_config('syncrep.take', taken::text, true);
        RETURN taken;
      END
      $fn$`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP FUNCTION syncrep_take(bigint, text, boolean, bigint, text, jsonb)');
  }
}
