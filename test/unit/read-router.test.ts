import type { DataSource } from 'typeorm';
import { FollowerNode, LeaderNode } from '../../src/replication/nodes/cluster-node';
import { ReadRouter } from '../../src/replication/read/read-router';
import { fixedRoster } from '../../src/replication/nodes/cluster';

const ds = {} as DataSource;
const leader = new LeaderNode('leader', ds, 'postgres://leader');
const f1 = new FollowerNode('follower-1', ds, 'postgres://f1');
const f2 = new FollowerNode('follower-2', ds, 'postgres://f2');
const names = (nodes: { name: string }[]) => nodes.map((n) => n.name);

beforeEach(() => {
  leader.state = { kind: 'UP' };
  f1.state = { kind: 'IN_SYNC' };
  f2.state = { kind: 'IN_SYNC' };
});

test('by default reads take turns over in-sync followers, with the leader as last resort', () => {
  const router = new ReadRouter(fixedRoster(leader, [f1, f2]));
  expect(names(router.candidates(undefined))).toEqual(['follower-1', 'follower-2', 'leader']);
  expect(names(router.candidates({}))).toEqual(['follower-2', 'follower-1', 'leader']);
  f2.state = { kind: 'CATCHING_UP', takesWrites: true };
  expect(names(router.candidates({ role: 'ANY' }))).toEqual(['follower-1', 'leader']);
});

test('a role or node that cannot serve is an error, never another node', () => {
  const router = new ReadRouter(fixedRoster(leader, [f1, f2]));
  f1.state = { kind: 'DOWN', reason: 'connection failed' };
  f2.state = { kind: 'OUT_OF_SYNC', reason: 'missed position 3' };
  expect(() => router.candidates({ role: 'FOLLOWER' })).toThrow(
    /no follower can serve reads now \(follower-1 DOWN, follower-2 OUT_OF_SYNC\)/,
  );
  expect(() => router.candidates({ node: 'follower-2' })).toThrow(/cannot serve reads: it is out of sync/);
  expect(names(router.candidates(undefined))).toEqual(['leader']);
  leader.state = { kind: 'DOWN', reason: 'timed out' };
  expect(() => router.candidates({ role: 'LEADER' })).toThrow(/node "leader" cannot serve reads/);
  expect(router.candidates(undefined)).toEqual([]);
});

test('unknown nodes and mismatched roles are BAD_USER_INPUT naming the known nodes', () => {
  const router = new ReadRouter(fixedRoster(leader, [f1]));
  expect(() => router.candidates({ node: 'nope' })).toThrow('known nodes: leader, follower-1');
  expect(() => router.candidates({ node: 'follower-1', role: 'LEADER' })).toThrow('is the follower, not a leader');
});

describe('maxLagMs', () => {
  const measured = (positions: number, ms: number, agoMs = 0) => ({ positions, ms, at: new Date(Date.now() - agoMs) });

  beforeEach(() => {
    f1.lag = measured(0, 0);
    f2.lag = measured(0, 0);
  });

  test('skips a follower measured further behind than the bound, and one never measured; the leader lags 0', () => {
    const router = new ReadRouter(fixedRoster(leader, [f1, f2]));
    f2.lag = measured(3, 800);
    expect(names(router.candidates({ maxLagMs: 500 }))).toEqual(['follower-1', 'leader']);
    expect(names(router.candidates({ maxLagMs: 60_000 }))).toHaveLength(3);
    f1.lag = undefined;
    expect(names(router.candidates({ maxLagMs: 500 }))).toEqual(['leader']);
    expect(names(router.candidates({ maxLagMs: 0, role: 'LEADER' }))).toEqual(['leader']);
    expect(() => router.candidates({ maxLagMs: 500, role: 'FOLLOWER' })).toThrow(/no follower can serve reads within maxLagMs 500/);
  });

  test("a lagging follower's lag grows with the measurement's age; a caught-up one stays 0", () => {
    const router = new ReadRouter(fixedRoster(leader, [f1, f2]));
    f1.lag = measured(0, 0, 60_000);
    f2.lag = measured(1, 100, 1_000);
    expect(names(router.candidates({ maxLagMs: 500, role: 'FOLLOWER' }))).toEqual(['follower-1']);
  });

  test('a named follower past the bound is NODE_UNAVAILABLE saying by how much', () => {
    const router = new ReadRouter(fixedRoster(leader, [f1, f2]));
    f2.lag = measured(2, 700);
    expect(() => router.candidates({ node: 'follower-2', maxLagMs: 100 })).toThrow(
      /it lags \d+ ms behind the leader, more than maxLagMs 100/,
    );
    expect(names(router.candidates({ node: 'follower-2', maxLagMs: 60_000 }))).toEqual(['follower-2']);
  });
});
