import type { MigrationInterface, QueryRunner } from 'typeorm';

/** syncrep_note_excluded as migration 0006 defined it, for `down`. */
const NOTE_ONCE = `CREATE OR REPLACE FUNCTION syncrep_note_excluded(e bigint, nodes text[]) RETURNS void
  LANGUAGE plpgsql AS $fn$
  BEGIN
    INSERT INTO syncrep_excluded (node, epoch, reason)
      SELECT n, e, 'left out of a quorum write' FROM unnest(nodes) AS n
       WHERE NOT EXISTS (SELECT 1 FROM syncrep_excluded x WHERE x.node = n AND x.epoch = e)
      ON CONFLICT (node) DO UPDATE SET epoch = EXCLUDED.epoch, reason = EXCLUDED.reason, since = clock_timestamp();
    PERFORM 1 FROM syncrep_excluded WHERE node = ANY(nodes) AND epoch = e FOR SHARE;
  END
  $fn$`;

/**
 * `syncrep_note_excluded` (a quorum commit records the followers it leaves out) writes a record
 * again when a repairer deleted it meanwhile. It skipped the insert for a record it could still
 * see, whose deletion was not committed yet; its FOR SHARE then waited for the delete and skipped
 * the deleted row, and the commit left the follower out with no record: the follower, put back by
 * its repairer, would serve reads lacking that write. It now loops until it holds every record.
 */
export class NoteExcludedAgain1732600000008 implements MigrationInterface {
  name = 'NoteExcludedAgain1732600000008';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`CREATE OR REPLACE FUNCTION syncrep_note_excluded(e bigint, nodes text[]) RETURNS void
      LANGUAGE plpgsql AS $fn$
      DECLARE
        held int;
      BEGIN
        LOOP
          -- Only a follower not recorded at this epoch yet is written (and its row locked): commits
          -- that leave out one already recorded do not queue behind each other.
          INSERT INTO syncrep_excluded (node, epoch, reason)
            SELECT n, e, 'left out of a quorum write' FROM unnest(nodes) AS n
             WHERE NOT EXISTS (SELECT 1 FROM syncrep_excluded x WHERE x.node = n AND x.epoch = e)
            ON CONFLICT (node) DO UPDATE SET epoch = EXCLUDED.epoch, reason = EXCLUDED.reason, since = clock_timestamp();
          SELECT count(*) INTO held FROM (SELECT 1 FROM syncrep_excluded WHERE node = ANY(nodes) AND epoch = e FOR SHARE) AS r;
          EXIT WHEN held = (SELECT count(DISTINCT n) FROM unnest(nodes) AS n);
        END LOOP;
      END
      $fn$`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(NOTE_ONCE);
  }
}
