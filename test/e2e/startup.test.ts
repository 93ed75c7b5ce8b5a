import 'reflect-metadata';
import { StartupError } from '../../src/errors/startup-error';
import { LocalNodes, freePort } from '../../harness/nodes';
import { gql, startServer } from '../support/server';

let nodes: LocalNodes;

beforeAll(async () => {
  nodes = await LocalNodes.start(1, { 'follower-1': ['max_prepared_transactions=0'] });
});

afterAll(async () => {
  await nodes?.stop();
});

test('a node with max_prepared_transactions = 0 stops startup, naming the node and the fix', async () => {
  const started = startServer(nodes);
  await expect(started).rejects.toThrow(StartupError);
  await expect(started).rejects.toThrow(/node "follower-1" .* max_prepared_transactions = 0.*-c max_prepared_transactions=64/);
});

test('a node that does not answer: the server starts with it DOWN, refusing writes in sync mode all, naming it', async () => {
  const port = await freePort();
  const app = await startServer(nodes, {
    REPLICATION_NODES: `${nodes.settings[0].name}=${nodes.settings[0].url},ghost=postgres://postgres:secret@127.0.0.1:${port}/employee`,
  });
  try {
    const listed = await gql(app.url, '{ nodes { name role state } }');
    expect(listed.data!.nodes).toEqual([
      { name: 'leader', role: 'LEADER', state: 'UP' },
      { name: 'ghost', role: 'FOLLOWER', state: 'DOWN' },
    ]);
    const refused = await gql(app.url, 'mutation { createEmployee(input: { id: 1, name: "G", salary: 1 }) { position } }');
    expect(refused.errors![0].message).toMatch(/follower ghost is down.*nothing was written/);
    expect(await nodes.query('leader', 'SELECT id FROM emp WHERE id = 1')).toEqual([]);
  } finally {
    await app.stop();
  }
});

test('no node answering stops startup, naming each, without passwords', async () => {
  const [a, b] = [await freePort(), await freePort()];
  const env = {
    REPLICATION_NODES: `one=postgres://postgres:secret@127.0.0.1:${a}/employee,two=postgres://postgres:secret@127.0.0.1:${b}/employee`,
  };
  const started = startServer(nodes, env);
  await expect(started).rejects.toThrow(
    /no node is reachable: node "one" \(127\.0\.0\.1:\d+\/employee\) is unreachable: connection refused.*node "two"/,
  );
  await expect(started).rejects.not.toThrow(/secret/);
});

test('a leader alone is allowed: writes commit on it alone', async () => {
  const app = await startServer(nodes, { REPLICATION_NODES: `solo=${nodes.settings[0].url}` });
  try {
    const result = await gql(app.url, 'mutation { createEmployee(input: { id: 1, name: "Solo", salary: 1 }) { committedOn } }');
    expect(result.data!.createEmployee.committedOn).toEqual(['solo']);
    const read = await gql(app.url, '{ employee(id: 1) { name } }');
    expect(read.extensions!.replication!.servedBy).toBe('solo');
  } finally {
    await app.stop();
  }
});
