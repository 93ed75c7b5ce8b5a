import 'reflect-metadata';
import { LocalNodes } from '../../harness/nodes';
import { ServerProcess } from '../../harness/server-process';
import { ADMIN_HEADERS, errorCode, gql, QUIET_QUORUM_ONE, startServer, TEST_ADMIN_TOKEN } from '../support/server';
import { record, type Outcomes } from '../support/outcomes';
import { waitFor } from '../support/wait';

let nodes: LocalNodes;

beforeEach(async () => {
  nodes = await LocalNodes.start(2);
});

afterEach(async () => {
  await nodes?.stop();
});

const PROMOTE =
  'mutation ($node: String!) { promote(node: $node) { epoch leader previousLeader changed rolledBackInDoubt committedInDoubt } }';
const create = (id: number) => `mutation { createEmployee(input: { id: ${id}, name: "W${id}", salary: 1 }) { position committedOn } }`;

async function ids(node: string): Promise<number[]> {
  return (await nodes.rows(node)).map((r) => r.id);
}

/** Waits until `url`'s server shows `leader` leading and every node in `inSync` IN_SYNC. */
function waitRoles(url: string, leader: string, inSync: string[]): Promise<void> {
  return waitFor(
    async () => {
      const found = (await gql(url, '{ nodes { name role state } }')).data?.nodes as { name: string; role: string; state: string }[];
      return (
        found.some((n) => n.name === leader && n.role === 'LEADER' && n.state === 'UP') &&
        inSync.every((name) => found.some((n) => n.name === name && n.state === 'IN_SYNC'))
      );
    },
    `${leader} leading, ${inSync.join(', ')} in sync`,
  );
}

// A server dies at a step of a commit, the leader dies too; a second server promotes follower-1
// (the first to get COMMIT PREPARED). The write was never acknowledged, so it must end on every
// surviving node or on none, by the settle rule: committed where some reached node committed it
// (follower-2 is not the candidate, so only the settle rule, not the union, can give it the write).
test.each([
  {
    point: 'after-prepare',
    what: 'prepared on both followers, decided nowhere: rolled back',
    before: { leader: [], 'follower-1': { ids: [], prepared: 1 } },
    settled: { rolledBackInDoubt: 2, committedInDoubt: 0 },
    expected: [],
  },
  {
    point: 'after-commit',
    what: 'decided on the lost leader only, prepared on both followers: rolled back',
    before: { leader: [7], 'follower-1': { ids: [], prepared: 1 } },
    settled: { rolledBackInDoubt: 2, committedInDoubt: 0 },
    expected: [],
  },
  {
    point: 'after-first-commit-prepared',
    what: 'committed on follower-1, prepared on follower-2: committed there too',
    before: { leader: [7], 'follower-1': { ids: [7], prepared: 0 } },
    settled: { rolledBackInDoubt: 0, committedInDoubt: 1 },
    expected: [7],
  },
])('leader lost $point ($what), then promote', async ({ point, before, settled, expected }) => {
  const survivor = await startServer(nodes, { ADMIN_TOKEN: TEST_ADMIN_TOKEN, HEALTH_INTERVAL_MS: '60000' });
  try {
    const doomed = await ServerProcess.start(nodes.replicationNodes, { SYNCREP_FAULT_POINT: point });
    const lost = gql(doomed.url, create(7)).catch(() => 'connection lost');
    expect(await doomed.exited()).toBe('SIGKILL');
    expect(await lost).toBe('connection lost');
    // Where the server died, as the title says: on the leader, follower-1 and follower-2.
    expect(await ids('leader')).toEqual(before.leader);
    expect(await ids('follower-1')).toEqual(before['follower-1'].ids);
    expect((await nodes.prepared('follower-1')).length).toBe(before['follower-1'].prepared);
    nodes.node('leader').signalAll('SIGKILL');
    expect(await ids('follower-2')).toEqual([]);
    expect((await nodes.prepared('follower-2')).length).toBe(1);

    const promoted = await gql(survivor.url, PROMOTE, { node: 'follower-1' }, ADMIN_HEADERS);
    expect(promoted.errors).toBeUndefined();
    expect(promoted.data!.promote).toEqual({ epoch: '1', leader: 'follower-1', previousLeader: 'leader', changed: true, ...settled });
    for (const node of ['follower-1', 'follower-2']) {
      expect(await ids(node)).toEqual(expected);
      expect(await nodes.prepared(node)).toEqual([]);
    }
    const next = await gql(survivor.url, create(8));
    expect(next.errors).toBeUndefined();
    expect(next.data!.createEmployee.committedOn).toEqual(['follower-1', 'follower-2']);
    expect(BigInt(next.data!.createEmployee.position) >> 40n).toBe(1n);
  } finally {
    await survivor.stop();
  }
});

test('a stale server (SIGSTOP across a promotion, then SIGCONT) never writes through the deposed leader: what it acknowledges is on the new leader', async () => {
  const stale = await ServerProcess.start(nodes.replicationNodes, {});
  const promoter = await startServer(nodes, { ADMIN_TOKEN: TEST_ADMIN_TOKEN });
  try {
    expect((await gql(stale.url, create(1))).errors).toBeUndefined();
    process.kill(stale.pid, 'SIGSTOP');
    const promoted = await gql(promoter.url, PROMOTE, { node: 'follower-1' }, ADMIN_HEADERS);
    expect(promoted.errors).toBeUndefined();
    // The highest position of epoch 0 the deposed leader decided (later epochs start at 2^40).
    const [{ last }] = await nodes.query<{ last: string }>('leader', 'SELECT max(position)::text AS last FROM syncrep_log');
    const decidedLater = `SELECT count(*)::int AS n FROM syncrep_log WHERE position > ${last} AND position < 2 ^ 40`;
    process.kill(stale.pid, 'SIGCONT');
    const outcomes: Outcomes<number> = { acknowledged: [], failed: [], unknown: [] };
    for (let id = 100; id < 120; id++) await record(outcomes, id, stale.url, create(id));
    const { acknowledged, failed } = outcomes;
    // Refused (the fence), or written once it follows the new epoch; never left unknown.
    expect(outcomes.unknown).toEqual([]);
    // Nothing was decided on the deposed leader after the fence (its log did not grow)...
    expect(await nodes.query('leader', decidedLater)).toEqual([{ n: 0 }]);
    // ...and the stale server follows the new epoch.
    // Both servers see every node back: the deposed leader rebuilt once (by whichever got its
    // rebuild lock first), the other only catching up.
    await waitRoles(promoter.url, 'follower-1', ['follower-2', 'leader']);
    await waitRoles(stale.url, 'follower-1', ['follower-2', 'leader']);
    // Following it, the once stale server writes again, on every node.
    for (let id = 120; id < 125; id++) {
      const written = await gql(stale.url, create(id));
      expect(written.errors).toBeUndefined();
      expect([...written.data!.createEmployee.committedOn].sort()).toEqual(['follower-1', 'follower-2', 'leader']);
      acknowledged.push(id);
    }
    for (const node of ['leader', 'follower-1', 'follower-2']) {
      const held = new Set(await ids(node));
      for (const id of acknowledged) expect(held.has(id)).toBe(true);
      for (const id of failed) expect(held.has(id)).toBe(false);
      expect(await nodes.prepared(node)).toEqual([]);
    }
  } finally {
    await promoter.stop();
    await stale.stop();
  }
});

test('a stale server whose write reaches a follower no promotion reached is refused by the deposed leader itself (quorum 1, allowDataLoss)', async () => {
  // It never follows the new epoch on its own here: every write it sends takes the stale path.
  const stale = await ServerProcess.start(nodes.replicationNodes, { SYNC_MODE: 'quorum', SYNC_QUORUM: '1', HEALTH_INTERVAL_MS: '600000' });
  // Nor does the promoter rebuild anything meanwhile: the deposed leader's log is evidence.
  const promoter = await startServer(nodes, QUIET_QUORUM_ONE);
  try {
    expect((await gql(stale.url, create(1))).errors).toBeUndefined();
    const [{ last }] = await nodes.query<{ last: string }>('leader', 'SELECT max(position)::text AS last FROM syncrep_log');
    process.kill(stale.pid, 'SIGSTOP');
    nodes.node('follower-2').signalAll('SIGSTOP');
    const promoted = await gql(
      promoter.url,
      'mutation { promote(node: "follower-1", allowDataLoss: true) { unreached } }',
      {},
      ADMIN_HEADERS,
    );
    expect(promoted.errors).toBeUndefined();
    expect(promoted.data!.promote.unreached).toEqual(['follower-2']);
    nodes.node('follower-2').signalAll('SIGCONT');
    process.kill(stale.pid, 'SIGCONT');
    // follower-2 still takes epoch 0's prepares, and quorum 1 needs only it; the deposed leader's
    // own epoch check is what refuses the commit.
    const answers: (Record<string, unknown> | undefined)[] = [];
    for (let id = 100; id < 110; id++) answers.push((await gql(stale.url, create(id))).errors?.[0]?.extensions);
    // Every one refused with "nothing was written": none acknowledged, none of unknown outcome.
    expect(answers.map((a) => [a?.code, a?.outcomeUnknown ?? false])).toEqual(answers.map(() => ['REPLICATION_FAILED', false]));
    expect(await nodes.query('leader', 'SELECT count(*)::int AS n FROM syncrep_log WHERE position > $1', [last])).toEqual([{ n: 0 }]);
    for (const node of ['leader', 'follower-1', 'follower-2']) expect((await ids(node)).filter((id) => id >= 100)).toEqual([]);
    // The refused prepares on follower-2 are rolled back, not left holding locks.
    await waitFor(async () => (await nodes.prepared('follower-2')).length === 0, 'no prepared transaction left on follower-2');
    for (const node of ['leader', 'follower-1']) expect(await nodes.prepared(node)).toEqual([]);
  } finally {
    await promoter.stop();
    await stale.stop();
  }
});

test.each([
  ['promote-after-claim', 'follower-1', '1'],
  ['promote-after-settle', 'follower-2', '2'],
])('a promotion killed at %s converges when run again (rerun promotes %s, epoch %s)', async (point, rerunWith, epoch) => {
  const env = { ADMIN_TOKEN: TEST_ADMIN_TOKEN };
  const doomed = await ServerProcess.start(nodes.replicationNodes, { ...env, SYNCREP_FAULT_POINT: point });
  expect((await gql(doomed.url, create(1))).errors).toBeUndefined();
  const dying = gql(doomed.url, PROMOTE, { node: 'follower-1' }, ADMIN_HEADERS).catch(() => 'connection lost');
  expect(await doomed.exited()).toBe('SIGKILL');
  expect(await dying).toBe('connection lost');
  // Claimed for epoch 1 and left there: the nodes refuse writes until the promotion is run again.
  expect(await nodes.query('follower-1', 'SELECT epoch::text, leader, state FROM syncrep_epoch')).toEqual([
    { epoch: '1', leader: 'follower-1', state: 'promoting' },
  ]);
  const server = await ServerProcess.start(nodes.replicationNodes, env);
  try {
    // Its position comes from the claimed leader's sequence, not yet in the new epoch's range: the
    // write is rolled back before any follower is asked.
    const refused = await gql(server.url, create(2));
    expect(errorCode(refused)).toBe('LEADER_UNAVAILABLE');
    expect(refused.errors![0].message).toContain('still being promoted');
    const rerun = await gql(server.url, PROMOTE, { node: rerunWith }, ADMIN_HEADERS);
    expect(rerun.errors).toBeUndefined();
    expect(rerun.data!.promote).toMatchObject({ epoch, leader: rerunWith, changed: true });
    await waitRoles(
      server.url,
      rerunWith,
      ['leader', 'follower-1', 'follower-2'].filter((n) => n !== rerunWith),
    );
    expect((await gql(server.url, create(3))).errors).toBeUndefined();
    for (const node of ['leader', 'follower-1', 'follower-2']) {
      expect(await ids(node)).toEqual([1, 3]);
      expect(await nodes.prepared(node)).toEqual([]);
    }
    // Run once more: it is the leader now, which is not a follower to promote.
    const again = await gql(server.url, PROMOTE, { node: rerunWith }, ADMIN_HEADERS);
    expect(errorCode(again)).toBe('BAD_USER_INPUT');
    expect(again.errors![0].message).toMatch(new RegExp(`"${rerunWith}" is the leader already \\(epoch ${epoch}\\)`));
  } finally {
    await server.stop();
  }
});
