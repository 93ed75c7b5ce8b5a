import 'reflect-metadata';
import type { Syncrep } from '../../src/app';
import { LocalNodes } from '../../harness/nodes';
import { ADMIN_HEADERS, gql, startServer, TEST_ADMIN_TOKEN } from '../support/server';
import { lockedRow, lockWaitOn } from '../support/row-locks';

/**
 * A rebuild's copy, log and watermark come from one snapshot, and every position not in it is
 * replayed whatever order positions committed in: here a write at a low position (server B's) is
 * held open across the copy while higher positions (server A's) commit before it, and it commits
 * only after the snapshot was taken. It must be on the rebuilt follower. (A watermark taken as the
 * highest position in the snapshot would skip it: that version of resync fails this test.)
 */
let nodes: LocalNodes;
let a: Syncrep;
let b: Syncrep;

beforeAll(async () => {
  nodes = await LocalNodes.start(2);
  a = await startServer(nodes, { ADMIN_TOKEN: TEST_ADMIN_TOKEN });
  b = await startServer(nodes);
  const inputs = Array.from({ length: 5 }, (_, i) => `{ id: ${i + 1}, name: "E${i + 1}", salary: 100 }`).join(', ');
  expect((await gql(a.url, `mutation { createEmployees(inputs: [${inputs}]) { position } }`)).errors).toBeUndefined();
});

afterAll(async () => {
  await b?.stop();
  await a?.stop();
  await nodes?.stop();
});

test('a write at a lower position that commits after the rebuild copied the leader is replayed onto the rebuilt follower', async () => {
  // follower-2 holds row 1 locked: B's update of it takes its position and prepares on follower-1,
  // then waits there.
  const holder = await lockedRow(nodes, 'follower-2', 1);
  try {
    const held = gql(b.url, 'mutation { updateEmployee(id: 1, input: { salary: 111 }) { position } }');
    await lockWaitOn(nodes, 'follower-2', "B's write waiting on follower-2", holder);
    // Higher positions commit meanwhile, through A.
    const later: string[] = [];
    for (let id = 2; id <= 5; id++) {
      const write = await gql(a.url, `mutation { updateEmployee(id: ${id}, input: { salary: ${200 + id} }) { position } }`);
      expect(write.errors).toBeUndefined();
      later.push(write.data!.updateEmployee.position);
    }
    // A rebuilds follower-1: its snapshot of the leader lacks B's write, still undecided; its
    // TRUNCATE then waits for B's write, prepared on follower-1.
    const rebuilt = gql(a.url, 'mutation { resyncNode(node: "follower-1") { state } }', {}, ADMIN_HEADERS);
    await lockWaitOn(nodes, 'follower-1', "the rebuild waiting for B's prepared write on follower-1", 'prepared');
    await holder.query('ROLLBACK');
    const written = await held;
    expect(written.errors).toBeUndefined();
    // Its position is below every one A committed before the snapshot.
    for (const position of later) expect(BigInt(written.data!.updateEmployee.position)).toBeLessThan(BigInt(position));
    const answer = await rebuilt;
    expect(answer.errors).toBeUndefined();
    expect(answer.data?.resyncNode.state).toBe('IN_SYNC');
  } finally {
    await holder.end();
  }
  const expected = [{ id: 1, name: 'E1', salary: 111 }, ...[2, 3, 4, 5].map((id) => ({ id, name: `E${id}`, salary: 200 + id }))];
  for (const name of ['leader', 'follower-1', 'follower-2']) {
    expect(await nodes.rows(name)).toEqual(expected);
    expect(await nodes.prepared(name)).toEqual([]);
  }
});
