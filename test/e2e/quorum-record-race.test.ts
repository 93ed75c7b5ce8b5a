import 'reflect-metadata';
import type { Syncrep } from '../../src/app';
import { LocalNodes } from '../../harness/nodes';
import { startServer } from '../support/server';
import { lockWaitOn, sessionOn } from '../support/row-locks';

/**
 * A quorum commit records each follower it leaves out (syncrep_note_excluded); the repairer that
 * puts one back deletes its record. A commit racing that delete must still end holding a record:
 * it saw the record (the delete not committed yet), skipped writing it, then waited for the delete
 * to lock it. Without a record, the repaired follower would serve reads lacking that write. (The
 * function of migration 0006 fails this test: no record is left.)
 */
let nodes: LocalNodes;
let app: Syncrep;

beforeAll(async () => {
  nodes = await LocalNodes.start(1);
  app = await startServer(nodes, { HEALTH_INTERVAL_MS: '60000', SYNC_MODE: 'quorum', SYNC_QUORUM: '1' });
});

afterAll(async () => {
  await app?.stop();
  await nodes?.stop();
});

const session = () => sessionOn(nodes, 'leader');

test('a quorum commit that races the repairer deleting the record writes the record again', async () => {
  const epoch = app.layer.cluster.epoch.toString();
  await nodes.query('leader', "INSERT INTO syncrep_excluded (node, epoch, reason) VALUES ('follower-1', $1, 'test')", [epoch]);
  const repairer = await session();
  const commit = await session();
  try {
    await repairer.query('BEGIN');
    await repairer.query("DELETE FROM syncrep_excluded WHERE node = 'follower-1'");
    await commit.query('BEGIN');
    const noted = commit.query(`SELECT syncrep_note_excluded(${epoch}, ARRAY['follower-1']::text[])`);
    await lockWaitOn(nodes, 'leader', 'the commit waiting for the delete', repairer);
    await repairer.query('COMMIT');
    await noted;
    await commit.query('COMMIT');
  } finally {
    await repairer.end();
    await commit.end();
  }
  expect(await nodes.query('leader', 'SELECT node, epoch::text AS epoch FROM syncrep_excluded')).toEqual([{ node: 'follower-1', epoch }]);
});
