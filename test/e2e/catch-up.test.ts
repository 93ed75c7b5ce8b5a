import 'reflect-metadata';
import type { Syncrep } from '../../src/app';
import { LocalNodes } from '../../harness/nodes';
import { gql, startServer } from '../support/server';

let nodes: LocalNodes;
let app: Syncrep;

beforeAll(async () => {
  nodes = await LocalNodes.start(1);
  app = await startServer(nodes, { HEALTH_INTERVAL_MS: '60000' });
});

afterAll(async () => {
  await app?.stop();
  await nodes?.stop();
});

test('catch-up replays a position below one already applied (writes commit out of position order)', async () => {
  const positions: string[] = [];
  for (const id of [1, 2, 3]) {
    const result = await gql(app.url, `mutation { createEmployee(input: { id: ${id}, name: "E${id}", salary: 1 }) { position } }`);
    positions.push(result.data!.createEmployee.position);
  }
  // The follower applied the first and third positions but not the second, as happens when the
  // second commits on the leader after the third was applied.
  const missing = BigInt(positions[1]).toString();
  await nodes.query('follower-1', 'DELETE FROM emp WHERE id = 2');
  await nodes.query('follower-1', 'DELETE FROM syncrep_applied WHERE position = $1', [missing]);
  await nodes.query('follower-1', 'DELETE FROM syncrep_log WHERE position = $1', [missing]);

  const follower = app.layer.cluster.followers[0];
  expect(await app.layer.replayer.replay(follower)).toBe(1);
  expect(await nodes.rows('follower-1')).toEqual(await nodes.rows('leader'));
  // The follower's own copy of the log holds the replayed entry too, under the leader's gid.
  const logged = 'SELECT position::text, gid FROM syncrep_log ORDER BY position';
  expect(await nodes.query('follower-1', logged)).toEqual(await nodes.query('leader', logged));
  expect(await app.layer.replayer.replay(follower)).toBe(0);
});

test('catch-up replays in numeric position order across a digit boundary (9 before 10), row by row', async () => {
  await gql(app.url, 'mutation { createEmployee(input: { id: 50, name: "Hot", salary: 0 }) { position } }');
  const positions: bigint[] = [];
  while (positions.length === 0 || positions[positions.length - 1] < 12n) {
    const result = await gql(app.url, `mutation { updateEmployee(id: 50, input: { salary: ${positions.length + 1} }) { position } }`);
    positions.push(BigInt(result.data!.updateEmployee.position));
  }
  // The follower lost every update of the row from position 8 on, as if it had been down for them.
  const lost = positions.filter((p) => p >= 8n);
  const kept = positions.filter((p) => p < 8n).length;
  await nodes.query('follower-1', 'UPDATE emp SET salary = $1 WHERE id = 50', [kept]);
  await nodes.query('follower-1', 'DELETE FROM syncrep_applied WHERE position = ANY($1::bigint[])', [lost.map(String)]);
  await nodes.query('follower-1', 'DELETE FROM syncrep_log WHERE position = ANY($1::bigint[])', [lost.map(String)]);

  const follower = app.layer.cluster.followers[0];
  expect(await app.layer.replayer.replay(follower)).toBe(lost.length);
  expect(await nodes.rows('follower-1')).toEqual(await nodes.rows('leader'));
});
