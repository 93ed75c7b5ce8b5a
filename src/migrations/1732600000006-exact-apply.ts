import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Exact applies and write-set membership kept on the nodes, so that several servers agree on it:
 * - `syncrep_claim(p)`: the one decision, per position, of whether an apply applies it. False when
 *   the node holds it already (at or below its watermark, recorded applied, or in its own log):
 *   the whole position is skipped, never row by row. Its insert into syncrep_applied waits for a
 *   transaction that holds the same position prepared (a live write racing a replay), then sees
 *   its outcome: committed, the position is held; rolled back, it is taken here.
 * - `syncrep_check_live(e, l)`: the epoch check of a live write's apply, which also refuses (SR004)
 *   on a node carrying a mark: a node being repaired takes writes only through its repairer's
 *   replays, in position order, never a later write on top of rows that lack an earlier one.
 * - `syncrep_excluded`, read on the leader: the followers a write may leave out at that epoch.
 *   Every commit that leaves a follower out checks its row there FOR SHARE
 *   (`syncrep_check_excluded`, SR005 when missing), so the repairer that brings the follower back
 *   deletes the row first, which waits for those commits, and then replays them: no server's
 *   write can commit without a follower that another server has just put back in service.
 * - `syncrep_note_excluded(e, nodes)`: in quorum mode a commit records, in its own round trip, the
 *   followers it leaves out (and holds the records FOR SHARE): every server's health round reads
 *   the leader's records and stops reading from them.
 * - `syncrep_divergence.kind` gains `behind`: the follower refused a write because it lacks an
 *   earlier one; every server stops reading from it, and catch-up clears the mark.
 */
export class ExactApply1732600000006 implements MigrationInterface {
  name = 'ExactApply1732600000006';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`CREATE OR REPLACE FUNCTION syncrep_claim(p bigint) RETURNS boolean
      LANGUAGE plpgsql AS $fn$
      BEGIN
        IF p <= (SELECT upto FROM syncrep_watermark) OR EXISTS (SELECT 1 FROM syncrep_log WHERE position = p) THEN
          RETURN false;
        END IF;
        INSERT INTO syncrep_applied (position) VALUES (p) ON CONFLICT (position) DO NOTHING;
        RETURN FOUND;
      END
      $fn$`);
    await runner.query(`CREATE OR REPLACE FUNCTION syncrep_check_live(e bigint, l text) RETURNS void
      LANGUAGE plpgsql AS $fn$
      DECLARE
        m syncrep_divergence;
      BEGIN
        PERFORM syncrep_check_epoch(e, l, false);
        SELECT * INTO m FROM syncrep_divergence WHERE id = 1;
        IF FOUND THEN
          RAISE EXCEPTION 'this node is marked % (%) and takes no live writes until it is repaired', m.kind, m.reason
            USING ERRCODE = 'SR004';
        END IF;
      END
      $fn$`);
    await runner.query(`CREATE TABLE IF NOT EXISTS syncrep_excluded (
      node text PRIMARY KEY,
      epoch bigint NOT NULL,
      reason text NOT NULL,
      since timestamptz NOT NULL DEFAULT clock_timestamp())`);
    await runner.query(`CREATE OR REPLACE FUNCTION syncrep_check_excluded(e bigint, nodes text[]) RETURNS void
      LANGUAGE plpgsql AS $fn$
      DECLARE
        missing text;
      BEGIN
        PERFORM 1 FROM syncrep_excluded WHERE node = ANY(nodes) AND epoch = e FOR SHARE;
        SELECT string_agg(n, ', ') INTO missing FROM unnest(nodes) AS n
          WHERE NOT EXISTS (SELECT 1 FROM syncrep_excluded x WHERE x.node = n AND x.epoch = e);
        IF missing IS NOT NULL THEN
          RAISE EXCEPTION 'follower(s) % are in the write set at epoch %: this write may not leave them out', missing, e
            USING ERRCODE = 'SR005';
        END IF;
      END
      $fn$`);
    await runner.query(`CREATE OR REPLACE FUNCTION syncrep_note_excluded(e bigint, nodes text[]) RETURNS void
      LANGUAGE plpgsql AS $fn$
      BEGIN
        -- Only a follower not recorded at this epoch yet is written (and its row locked): commits
        -- that leave out one already recorded do not queue behind each other.
        INSERT INTO syncrep_excluded (node, epoch, reason)
          SELECT n, e, 'left out of a quorum write' FROM unnest(nodes) AS n
           WHERE NOT EXISTS (SELECT 1 FROM syncrep_excluded x WHERE x.node = n AND x.epoch = e)
          ON CONFLICT (node) DO UPDATE SET epoch = EXCLUDED.epoch, reason = EXCLUDED.reason, since = clock_timestamp();
        PERFORM 1 FROM syncrep_excluded WHERE node = ANY(nodes) AND epoch = e FOR SHARE;
      END
      $fn$`);
    await runner.query('ALTER TABLE syncrep_divergence DROP CONSTRAINT IF EXISTS syncrep_divergence_kind_check');
    await runner.query(`ALTER TABLE syncrep_divergence ADD CONSTRAINT syncrep_divergence_kind_check
      CHECK (kind IN ('diverged', 'rebuilding', 'behind'))`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query("DELETE FROM syncrep_divergence WHERE kind = 'behind'");
    await runner.query('ALTER TABLE syncrep_divergence DROP CONSTRAINT IF EXISTS syncrep_divergence_kind_check');
    await runner.query(
      `ALTER TABLE syncrep_divergence ADD CONSTRAINT syncrep_divergence_kind_check CHECK (kind IN ('diverged', 'rebuilding'))`,
    );
    await runner.query('DROP FUNCTION syncrep_note_excluded(bigint, text[])');
    await runner.query('DROP FUNCTION syncrep_check_excluded(bigint, text[])');
    await runner.query('DROP TABLE syncrep_excluded');
    await runner.query('DROP FUNCTION syncrep_check_live(bigint, text)');
    await runner.query('DROP FUNCTION syncrep_claim(bigint)');
  }
}
