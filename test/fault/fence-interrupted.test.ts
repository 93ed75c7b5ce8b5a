import 'reflect-metadata';
import { Client } from 'pg';
import type { Syncrep } from '../../src/app';
import { LocalNodes } from '../../harness/nodes';
import { ADMIN_HEADERS, gql, startServer, TEST_ADMIN_TOKEN } from '../support/server';

/**
 * A deposed leader the promotion did not reach is fenced to the new epoch by the first rejoin that
 * reaches it, and rebuilt (it may hold writes it decided that no leader kept). That the rebuild is
 * due must survive the fence: a rejoin that fails between the two (here its read of the leader's
 * trim point times out) leaves the node at the new epoch, and the next rejoin must still rebuild it
 * rather than only catch it up. (Fenced without a mark in the same transaction, the next rejoin
 * saw a node at the current epoch and kept the deposed leader's rows: this test fails so.)
 */
let nodes: LocalNodes;
let app: Syncrep;

beforeAll(async () => {
  nodes = await LocalNodes.start(2);
  app = await startServer(nodes, { ADMIN_TOKEN: TEST_ADMIN_TOKEN, HEALTH_INTERVAL_MS: '60000', DB_TIMEOUT_MS: '1000' });
  const inputs = Array.from({ length: 3 }, (_, i) => `{ id: ${i + 1}, name: "E${i + 1}", salary: 100 }`).join(', ');
  expect((await gql(app.url, `mutation { createEmployees(inputs: [${inputs}]) { position } }`)).errors).toBeUndefined();
});

afterAll(async () => {
  await app?.stop();
  await nodes?.stop();
});

test('a rejoin that fails after fencing a deposed leader leaves it to be rebuilt by the next one', async () => {
  await nodes.node('leader').stop();
  const promoted = await gql(app.url, 'mutation { promote(node: "follower-1") { epoch leader } }', {}, ADMIN_HEADERS);
  expect(promoted.data?.promote).toEqual({ epoch: '1', leader: 'follower-1' });
  await nodes.node('leader').start();
  // What the deposed leader decided alone before it went: no other node has it.
  expect(await nodes.query('leader', 'UPDATE emp SET salary = 999 WHERE id = 1 RETURNING id')).toEqual([{ id: 1 }]);

  const deposed = app.layer.cluster.followers.find((f) => f.name === 'leader')!;
  const trimLock = new Client({ connectionString: nodes.node('follower-1').url });
  await trimLock.connect();
  try {
    await trimLock.query('BEGIN');
    await trimLock.query('LOCK TABLE syncrep_trim IN ACCESS EXCLUSIVE MODE');
    await expect(app.layer.catchUp.rejoin(deposed)).rejects.toThrow(/timeout/i);
    // The first rejoin got as far as the fence, and left the node marked for a rebuild.
    expect(await nodes.query('leader', 'SELECT epoch::text AS epoch, leader FROM syncrep_epoch')).toEqual([
      { epoch: '1', leader: 'follower-1' },
    ]);
    expect(await nodes.query('leader', 'SELECT kind FROM syncrep_divergence')).toEqual([{ kind: 'rebuilding' }]);
    expect(deposed.state.kind).not.toBe('IN_SYNC');
  } finally {
    await trimLock.query('ROLLBACK');
    await trimLock.end();
  }

  await app.layer.catchUp.rejoin(deposed);
  expect(deposed.state.kind).toBe('IN_SYNC');
  const expected = [1, 2, 3].map((id) => ({ id, name: `E${id}`, salary: 100 }));
  for (const name of ['leader', 'follower-1', 'follower-2']) {
    expect([name, await nodes.rows(name)]).toEqual([name, expected]);
    expect([name, await nodes.prepared(name)]).toEqual([name, []]);
  }
});
