import type { DataSource } from 'typeorm';
import { FollowerNode } from '../../src/replication/nodes/cluster-node';
import type { FollowerState } from '../../src/replication/nodes/node-state';
import { SyncPolicy } from '../../src/replication/write/sync-policy';

/** Which followers a write goes to, how many must prepare, whom it leaves out and what blocks it: no node is reached. */
const ds = {} as DataSource;

function followers(...states: FollowerState[]): FollowerNode[] {
  return states.map((state, i) => {
    const node = new FollowerNode(`follower-${i + 1}`, ds, `postgres://f${i + 1}`);
    node.state = state;
    return node;
  });
}

const names = (nodes: readonly FollowerNode[]) => nodes.map((n) => n.name);
const ALL = new SyncPolicy({ kind: 'all' });
const QUORUM_1 = new SyncPolicy({ kind: 'quorum', quorum: 1 });

const MIXED = followers(
  { kind: 'IN_SYNC' },
  { kind: 'DOWN', reason: 'refused' },
  { kind: 'CATCHING_UP', takesWrites: true },
  { kind: 'CATCHING_UP', takesWrites: false },
  { kind: 'NEEDS_RESYNC', reason: 'behind the log' },
  { kind: 'DIVERGED', reason: 'extra row' },
  { kind: 'OUT_OF_SYNC', reason: 'missed one' },
);

test('all: every follower is a target, down or catching up, except those being repaired or diverged', () => {
  expect(names(ALL.targets(MIXED))).toEqual(['follower-1', 'follower-2', 'follower-3', 'follower-7']);
  expect(ALL.leftOut(MIXED, [])).toEqual({ recorded: ['follower-4', 'follower-5', 'follower-6'], toRecord: [] });
});

test('quorum: only followers in sync are targets, and the commit records every one that did not prepare', () => {
  expect(names(QUORUM_1.targets(MIXED))).toEqual(['follower-1']);
  const [first] = MIXED;
  expect(QUORUM_1.leftOut(MIXED, [first])).toEqual({ recorded: [], toRecord: names(MIXED.slice(1)) });
});

test('how many must prepare: all of the targets and at least one in all mode, the quorum in quorum mode, none without followers', () => {
  expect(ALL.required(3, 3)).toBe(3);
  expect(ALL.required(0, 2)).toBe(1);
  expect(ALL.required(0, 0)).toBe(0);
  expect(QUORUM_1.required(0, 2)).toBe(1);
  expect(new SyncPolicy({ kind: 'quorum', quorum: 2 }).required(5, 5)).toBe(2);
});

test('all: a down follower blocks writes, named; so does every follower being rebuilt; a down leader too', () => {
  expect(ALL.writeBlockers(false, followers({ kind: 'IN_SYNC' }, { kind: 'IN_SYNC' }))).toEqual({ reasons: [], nodes: [] });
  expect(ALL.writeBlockers(false, followers({ kind: 'IN_SYNC' }, { kind: 'DOWN', reason: 'x' }))).toEqual({
    reasons: ['follower follower-2 is down, and sync mode all needs every follower'],
    nodes: ['follower-2'],
  });
  const rebuilt = followers({ kind: 'NEEDS_RESYNC', reason: 'x' }, { kind: 'DIVERGED', reason: 'y' });
  expect(ALL.writeBlockers(true, rebuilt)).toEqual({
    reasons: ['the leader is down', 'every follower is being rebuilt or has diverged, and sync mode all needs at least one'],
    nodes: ['follower-1', 'follower-2'],
  });
});

test('quorum: writes go on while k followers are in sync and up; below that, the ones not in sync are named', () => {
  expect(QUORUM_1.writeBlockers(false, followers({ kind: 'IN_SYNC' }, { kind: 'DOWN', reason: 'x' }))).toEqual({ reasons: [], nodes: [] });
  expect(QUORUM_1.writeBlockers(false, followers({ kind: 'OUT_OF_SYNC', reason: 'x' }, { kind: 'DOWN', reason: 'y' }))).toEqual({
    reasons: ['only 0 follower(s) in sync, quorum 1 needed'],
    nodes: ['follower-1', 'follower-2'],
  });
});
