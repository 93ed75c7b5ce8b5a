import 'reflect-metadata';
import type { Syncrep } from '../../src/app';
import { LocalNodes } from '../../harness/nodes';
import { ADMIN_HEADERS, TEST_ADMIN_TOKEN, errorCode, gql, startServer } from '../support/server';
import { waitAllInSync, waitFor } from '../support/wait';

/**
 * DIVERGED outlives the server that found it: the mark on the follower keeps a restarted server,
 * and any other server sharing the cluster, from serving reads from it until a rebuild.
 */
let nodes: LocalNodes;
const servers: Syncrep[] = [];

const start = async () => {
  const server = await startServer(nodes, { ADMIN_TOKEN: TEST_ADMIN_TOKEN });
  servers.push(server);
  return server;
};

async function stateOf(server: Syncrep, node: string): Promise<string | undefined> {
  const listed = await gql<{ nodes: { name: string; state: string }[] }>(server.url, '{ nodes { name state } }');
  return listed.data?.nodes.find((n) => n.name === node)?.state;
}

beforeAll(async () => {
  nodes = await LocalNodes.start(2);
  const first = await start();
  const inputs = Array.from({ length: 20 }, (_, i) => ({ id: i + 1, name: `E${i + 1}`, salary: 1 }));
  expect(
    (await gql(first.url, 'mutation ($inputs: [CreateEmployeeInput!]!) { createEmployees(inputs: $inputs) { position } }', { inputs }))
      .errors,
  ).toBeUndefined();
});

afterAll(async () => {
  for (const server of servers) await server.stop();
  await nodes?.stop();
});

test('a follower found diverged stays out of service for a restarted server and for a second server; a rebuild clears it for all', async () => {
  const [first] = servers;
  await nodes.query('follower-1', "UPDATE emp SET name = 'behind syncrep' WHERE id = 5");
  const second = await start();
  const report = await gql(first.url, '{ consistency { nodes { name markedDiverged } } }', {}, ADMIN_HEADERS);
  expect(report.data!.consistency.nodes[1]).toEqual({ name: 'follower-1', markedDiverged: true });
  expect(await nodes.query('follower-1', 'SELECT reason FROM syncrep_divergence')).toEqual([
    { reason: expect.stringContaining('consistency check') },
  ]);

  // The other server sees the mark at its next health check, and stops reading from it.
  await waitFor(async () => (await stateOf(second, 'follower-1')) === 'DIVERGED', 'the second server to see follower-1 DIVERGED');
  expect(errorCode(await gql(second.url, '{ employee(id: 5, readFrom: { node: "follower-1" }) { name } }'))).toBe('NODE_UNAVAILABLE');

  // A server started afterwards never puts it in service.
  await first.stop();
  const restarted = await start();
  expect(await stateOf(restarted, 'follower-1')).toBe('DIVERGED');
  for (let i = 0; i < 6; i++) {
    const read = await gql(restarted.url, '{ employee(id: 5) { name } }');
    expect(read.extensions?.replication?.servedBy).not.toBe('follower-1');
    expect(read.data!.employee).toEqual({ name: 'E5' });
  }

  // The rebuild clears the mark: after it, a restart keeps the follower in service.
  const rebuilt = await gql(restarted.url, 'mutation { resyncNode(node: "follower-1") { state } }', {}, ADMIN_HEADERS);
  expect(rebuilt.data?.resyncNode.state).toBe('IN_SYNC');
  expect(await nodes.query('follower-1', 'SELECT reason FROM syncrep_divergence')).toEqual([]);
  await restarted.stop();
  const again = await start();
  await waitAllInSync(again.url);
  for (const node of ['follower-1', 'follower-2']) expect(await nodes.rows(node)).toEqual(await nodes.rows('leader'));
});
