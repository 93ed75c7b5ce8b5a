import 'reflect-metadata';
import { Client } from 'pg';
import { LocalNodes } from '../../harness/nodes';
import { gql, startServer } from '../support/server';
import { waitAllInSync, waitFor } from '../support/wait';

/**
 * The log trimmer trusts a position only once every transaction that could still commit at or
 * below it has ended. A write held open on the leader (waiting for a follower's PREPARE) while
 * trim rounds go by must not be trimmed past: a follower left out of it would get a watermark
 * above a position it lacks, and catch-up would never replay it.
 */
let nodes: LocalNodes;

beforeAll(async () => {
  nodes = await LocalNodes.start(2);
});

afterAll(async () => {
  await nodes?.stop();
});

test('a follower left out of a write held open across trim rounds still gets it by catch-up', async () => {
  const app = await startServer(nodes, { SYNC_MODE: 'quorum', SYNC_QUORUM: '1', DB_TIMEOUT_MS: '2000', HEALTH_INTERVAL_MS: '100' });
  // EXCLUSIVE lets reads and health checks through but holds follower-2's apply back: the write
  // waits out DB_TIMEOUT_MS for its PREPARE there, its leader transaction open all along.
  const lock = new Client({ connectionString: nodes.node('follower-2').url });
  lock.on('error', () => undefined);
  await lock.connect();
  try {
    await lock.query('BEGIN');
    await lock.query('LOCK TABLE emp IN EXCLUSIVE MODE');
    const written = await gql(app.url, 'mutation { createEmployee(input: { id: 1, name: "Held", salary: 1 }) { committedOn } }');
    expect(written.data!.createEmployee.committedOn).toEqual(['leader', 'follower-1']);
    await lock.query('ROLLBACK');
    await waitAllInSync(app.url);
    const same = async () => {
      const rows = await nodes.rowsEverywhere();
      return Object.values(rows).every((r) => JSON.stringify(r) === JSON.stringify(rows.leader));
    };
    await waitFor(same, 'follower-2 holding the write it was left out of');
  } finally {
    await lock.end().catch(() => undefined);
    await app.stop();
  }
});
