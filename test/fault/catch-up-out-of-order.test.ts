import 'reflect-metadata';
import type { Syncrep } from '../../src/app';
import { LocalNodes } from '../../harness/nodes';
import { leaveWriteSet } from '../../src/replication/recovery/write-set';
import { gql, startServer } from '../support/server';
import { waitFor } from '../support/wait';
import { lockedRow, lockWaitOn } from '../support/row-locks';

/**
 * Catch-up replays while writes go on, and positions commit out of order: a write at a low
 * position (server B's, held at follower-2) commits after a higher one (server A's) was read from
 * the log and replayed, and a later write changes the same row again. Replaying that later write
 * before the low one is refused as divergence, though the follower only lacks the low one. Each
 * replay reads the leader's log in one snapshot, which holds the later write only with the earlier
 * one (a scan page after page that moves on past a position still to come fails this test in both
 * modes: the follower ends DIVERGED).
 */
describe.each<{ mode: string; env: Record<string, string> }>([
  { mode: 'all', env: {} },
  { mode: 'quorum 1', env: { SYNC_MODE: 'quorum', SYNC_QUORUM: '1' } },
])('sync mode $mode', ({ env }) => {
  let nodes: LocalNodes;
  let a: Syncrep;
  let b: Syncrep;

  beforeAll(async () => {
    nodes = await LocalNodes.start(2);
    // No health round: the catch-up under test is the only one.
    a = await startServer(nodes, { HEALTH_INTERVAL_MS: '60000', ...env });
    b = await startServer(nodes, { HEALTH_INTERVAL_MS: '60000', ...env });
    const inputs = Array.from({ length: 3 }, (_, i) => `{ id: ${i + 1}, name: "E${i + 1}", salary: 100 }`).join(', ');
    expect((await gql(a.url, `mutation { createEmployees(inputs: [${inputs}]) { position } }`)).errors).toBeUndefined();
  });

  afterAll(async () => {
    await b?.stop();
    await a?.stop();
    await nodes?.stop();
  });

  const salary = (server: Syncrep, id: number, value: number) =>
    gql(server.url, `mutation { updateEmployee(id: ${id}, input: { salary: ${value} }) { position } }`);

  test('a replay that has moved past a position still to come replays it before a later write of the same row', async () => {
    // follower-1 is marked as lacking writes and recorded so on the leader (as a missed write
    // leaves it): both servers' writes leave it out until its repairer brings it back.
    const follower = a.layer.cluster.followers.find((f) => f.name === 'follower-1')!;
    await leaveWriteSet(a.layer.cluster, follower, 'behind', 'missed a write (test)');
    // A server that still sends it writes is refused there once (REPLICATION_FAILED), then leaves it out.
    for (const [server, name, value] of [
      [a, 'A', 301],
      [b, 'B', 302],
    ] as const) {
      const refusals: unknown[] = [];
      await waitFor(async () => {
        const written = await salary(server, 3, value);
        if (written.errors) refusals.push(written.errors[0].extensions?.code);
        return !written.errors;
      }, `a write through ${name} without follower-1`);
      expect([name, refusals.length <= 1, refusals.every((code) => code === 'REPLICATION_FAILED')]).toEqual([name, true, true]);
    }

    const onFollower2 = await lockedRow(nodes, 'follower-2', 1);
    const low = salary(b, 1, 111);
    await lockWaitOn(nodes, 'follower-2', "B's write of row 1 waiting on follower-2", onFollower2);
    expect((await salary(a, 2, 222)).errors).toBeUndefined();

    // A's catch-up of follower-1 replays row 2's write, and waits there on follower-1.
    const onFollower1 = await lockedRow(nodes, 'follower-1', 2);
    const rejoin = a.layer.catchUp.rejoin(follower).then(
      () => undefined,
      (error: Error) => error,
    );
    await lockWaitOn(nodes, 'follower-1', 'the replay of the write of row 2 waiting on follower-1', onFollower1);
    // The low position is decided now, and row 1 written again at a higher one.
    await onFollower2.query('ROLLBACK');
    await onFollower2.end();
    const outcomes = [await low, await salary(b, 1, 333)];
    // Both are acknowledged: the replay under way still finds the follower left out.
    expect(outcomes.map((o) => o.errors)).toEqual([undefined, undefined]);
    await onFollower1.query('ROLLBACK');
    await onFollower1.end();

    expect(await rejoin).toBeUndefined();
    expect(follower.state.kind).toBe('IN_SYNC');
    // Every node holds every acknowledged write, the caught-up follower too.
    const expected = [
      { id: 1, name: 'E1', salary: 333 },
      { id: 2, name: 'E2', salary: 222 },
      { id: 3, name: 'E3', salary: 302 },
    ];
    for (const name of ['leader', 'follower-1', 'follower-2']) {
      expect([name, await nodes.rows(name)]).toEqual([name, expected]);
      expect([name, await nodes.prepared(name)]).toEqual([name, []]);
    }
  });
});
