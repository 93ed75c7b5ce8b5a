import 'reflect-metadata';
import type { Syncrep } from '../../src/app';
import type { FollowerNode } from '../../src/replication/cluster-node';
import { TestNodes } from '../support/nodes';
import { gql, startServer } from '../support/server';

let nodes: TestNodes;
let app: Syncrep;

beforeAll(async () => {
  nodes = await TestNodes.start(1);
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

  const follower = app.replication.cluster.followers[0] as FollowerNode;
  expect(await app.replication.catchUp.replay(follower)).toBe(1);
  expect(await nodes.rows('follower-1')).toEqual(await nodes.rows('leader'));
  expect(await app.replication.catchUp.replay(follower)).toBe(0);
});
