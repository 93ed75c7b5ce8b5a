import 'reflect-metadata';
import { LocalNodes } from '../../harness/nodes';
import { gql } from '../support/server';
import { ServerProcess } from '../../harness/server-process';
import { waitAllInSync } from '../support/wait';

const NODES = ['leader', 'follower-1', 'follower-2'];
let nodes: LocalNodes;

beforeEach(async () => {
  nodes = await LocalNodes.start(2);
});

afterEach(async () => {
  await nodes?.stop();
});

const CREATE = 'mutation { createEmployee(input: { id: 7, name: "Crash", salary: 1 }) { position } }';

async function crashAt(point: string): Promise<void> {
  const doomed = await ServerProcess.start(nodes.replicationNodes, { SYNCREP_FAULT_POINT: point });
  const response = gql(doomed.url, CREATE).catch(() => 'connection lost');
  expect(await doomed.exited()).toBe('SIGKILL');
  expect(await response).toBe('connection lost');
}

test('server SIGKILLed right after the followers PREPARE: after restart no node has the write, nothing stays prepared', async () => {
  await crashAt('after-prepare');
  for (const node of ['follower-1', 'follower-2']) expect(await nodes.prepared(node)).toHaveLength(1);
  const server = await ServerProcess.start(nodes.replicationNodes, {});
  try {
    for (const node of NODES) {
      expect(await nodes.prepared(node)).toEqual([]);
      expect(await nodes.query(node, 'SELECT id FROM emp')).toEqual([]);
    }
    const retried = await gql(server.url, CREATE);
    expect(retried.errors).toBeUndefined();
  } finally {
    await server.stop();
  }
});

test('server SIGKILLed right after the leader COMMIT: after restart every node has the write, nothing stays prepared', async () => {
  await crashAt('after-commit');
  expect(await nodes.query('leader', 'SELECT id FROM emp')).toEqual([{ id: 7 }]);
  const server = await ServerProcess.start(nodes.replicationNodes, {});
  try {
    await waitAllInSync(server.url);
    for (const node of NODES) {
      expect(await nodes.prepared(node)).toEqual([]);
      expect(await nodes.query(node, 'SELECT id, name FROM emp')).toEqual([{ id: 7, name: 'Crash' }]);
    }
  } finally {
    await server.stop();
  }
});

test('two server processes writing conflicting updates to one cluster leave every node identical', async () => {
  const first = await ServerProcess.start(nodes.replicationNodes, {});
  const second = await ServerProcess.start(nodes.replicationNodes, {});
  try {
    const inputs = Array.from({ length: 5 }, (_, i) => ({ id: i + 1, name: 'Both', salary: 100 }));
    const seeded = await gql(first.url, 'mutation ($inputs: [CreateEmployeeInput!]!) { createEmployees(inputs: $inputs) { position } }', {
      inputs,
    });
    expect(seeded.errors).toBeUndefined();
    // Every write succeeds, except a transfer from an account the other writes have emptied.
    const unexpected: string[] = [];
    await Promise.all(
      [first, second].flatMap((server, s) =>
        Array.from({ length: 6 }, async (_, lane) => {
          for (let i = 0; i < 25; i++) {
            const id = ((lane + i) % 5) + 1;
            const other = ((lane + i + 2) % 5) + 1;
            const update = gql(
              server.url,
              `mutation { updateEmployee(id: ${id}, input: { name: "s${s}-${lane}-${i}", salary: ${i} }) { position } }`,
            );
            const transfer = gql(server.url, `mutation { transferSalary(fromId: ${id}, toId: ${other}, amount: 1) { position } }`);
            const results = await Promise.all([update, transfer]);
            results.forEach((r, k) => {
              const error = r.errors?.[0];
              const allowed = k === 1 && error?.extensions?.code === 'BAD_USER_INPUT' && /cannot transfer/.test(error.message);
              if (error && !allowed) unexpected.push(`server ${s} lane ${lane} #${i}: ${String(error.extensions?.code)} ${error.message}`);
            });
          }
        }),
      ),
    );
    expect(unexpected).toEqual([]);
    const rows = await nodes.rowsEverywhere();
    expect(rows['follower-1']).toEqual(rows.leader);
    expect(rows['follower-2']).toEqual(rows.leader);
    for (const node of NODES) expect(await nodes.prepared(node)).toEqual([]);
  } finally {
    await Promise.all([first.stop(), second.stop()]);
  }
});
