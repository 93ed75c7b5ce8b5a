import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Leader failover's fence, on every node:
 * - `syncrep_epoch`: the term this node belongs to and its leader. Epoch 0's leader is null
 *   until a server records the first configured node (REPLICATION_NODES order is only the initial
 *   leader). A promotion claims each node at the next epoch (`state = 'promoting'`) and makes
 *   the new leader `active` once it holds every acknowledged write.
 * - `syncrep_check_epoch(epoch, leader, lead)`: raises SR003 unless this node is at that epoch
 *   with that leader (and, for `lead`, active). The leader's commit runs it with `lead` and holds
 *   the row FOR SHARE until COMMIT, so the fence (an UPDATE of the row) waits for the decisions in
 *   flight and every later one fails. Followers run it without a lock in every apply: a prepared
 *   transaction keeps its locks, which would hold the fence back behind the very writes it settles.
 * - `syncrep_divergence.kind`: the mark also says a follower is being rebuilt (`rebuilding`).
 *   Either kind makes a follower unfit to be promoted: it may lack acknowledged writes.
 */
export class EpochFence1732600000005 implements MigrationInterface {
  name = 'EpochFence1732600000005';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`CREATE TABLE IF NOT EXISTS syncrep_epoch (
      id int PRIMARY KEY CHECK (id = 1),
      epoch bigint NOT NULL,
      leader text,
      -- The leader of the epoch before (a promotion's rerun must still know whom it deposed).
      previous text,
      state text NOT NULL CHECK (state IN ('active', 'promoting')),
      updated_at timestamptz NOT NULL DEFAULT clock_timestamp())`);
    await runner.query(`INSERT INTO syncrep_epoch (id, epoch, leader, state) VALUES (1, 0, NULL, 'active') ON CONFLICT (id) DO NOTHING`);
    await runner.query(`CREATE OR REPLACE FUNCTION syncrep_check_epoch(e bigint, l text, lead boolean) RETURNS void
      LANGUAGE plpgsql AS $fn$
      DECLARE
        cur syncrep_epoch;
      BEGIN
        IF lead THEN
          SELECT * INTO cur FROM syncrep_epoch WHERE id = 1 FOR SHARE;
        ELSE
          SELECT * INTO cur FROM syncrep_epoch WHERE id = 1;
        END IF;
        IF cur.epoch IS DISTINCT FROM e OR cur.leader IS DISTINCT FROM l OR (lead AND cur.state <> 'active') THEN
          RAISE EXCEPTION 'stale epoch: this node is at epoch % led by % (%), not at epoch % led by %',
            cur.epoch, coalesce(cur.leader, '(none)'), cur.state, e, l USING ERRCODE = 'SR003';
        END IF;
      END
      $fn$`);
    await runner.query(`ALTER TABLE syncrep_divergence ADD COLUMN IF NOT EXISTS kind text NOT NULL DEFAULT 'diverged'
      CHECK (kind IN ('diverged', 'rebuilding'))`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('ALTER TABLE syncrep_divergence DROP COLUMN kind');
    await runner.query('DROP FUNCTION syncrep_check_epoch(bigint, text, boolean)');
    await runner.query('DROP TABLE syncrep_epoch');
  }
}
