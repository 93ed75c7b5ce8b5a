import type { DataSource } from 'typeorm';
import { FollowerNode } from '../../src/replication/nodes/cluster-node';
import type { FollowerState } from '../../src/replication/nodes/node-state';
import { transition } from '../../src/replication/nodes/transitions';
import { SyncPolicy } from '../../src/replication/write/sync-policy';
import { checkExcludedSql } from '../../src/replication/recovery/write-set';

/** Who a write goes to, whom it may leave out, and the state moves the write set depends on. */
const ds = {} as DataSource;
const quiet = { info: () => undefined, warn: () => undefined };
const follower = (name: string, state: FollowerState) => Object.assign(new FollowerNode(name, ds, `postgres://${name}`), { state });

const all = new SyncPolicy({ kind: 'all' });
const quorum = new SyncPolicy({ kind: 'quorum', quorum: 1 });

test('sync mode all sends live writes to every follower but those repaired, marked or diverged, and leaves out exactly those; quorum records whom it leaves out', () => {
  const followers = [
    follower('in-sync', { kind: 'IN_SYNC' }),
    follower('down', { kind: 'DOWN', reason: 'x' }),
    follower('catching-up', { kind: 'CATCHING_UP', takesWrites: true }),
    follower('rebuilt', { kind: 'CATCHING_UP', takesWrites: false }),
    follower('out', { kind: 'OUT_OF_SYNC', reason: 'x' }),
    follower('resync', { kind: 'NEEDS_RESYNC', reason: 'x' }),
    follower('diverged', { kind: 'DIVERGED', reason: 'x' }),
  ];
  expect(all.targets(followers).map((f) => f.name)).toEqual(['in-sync', 'down', 'catching-up', 'out']);
  expect(all.leftOut(followers, [followers[0]])).toEqual({ recorded: ['rebuilt', 'resync', 'diverged'], toRecord: [] });
  // Quorum mode leaves followers out as a matter of course: the commit records every one that did not prepare.
  expect(quorum.targets(followers).map((f) => f.name)).toEqual(['in-sync']);
  expect(quorum.leftOut(followers, [followers[0]])).toEqual({ recorded: [], toRecord: followers.slice(1).map((f) => f.name) });
  expect(quorum.leftOut(followers.slice(0, 1), [followers[0]])).toEqual({ recorded: [], toRecord: [] });
});

test.each<[FollowerState, FollowerState['kind']]>([
  [{ kind: 'IN_SYNC' }, 'NEEDS_RESYNC'],
  [{ kind: 'CATCHING_UP', takesWrites: true }, 'NEEDS_RESYNC'],
  [{ kind: 'OUT_OF_SYNC', reason: 'x' }, 'NEEDS_RESYNC'],
  [{ kind: 'DOWN', reason: 'x' }, 'NEEDS_RESYNC'],
  [{ kind: 'NEEDS_RESYNC', reason: 'x' }, 'NEEDS_RESYNC'],
  [{ kind: 'DIVERGED', reason: 'x' }, 'DIVERGED'],
])('a mark found on the node takes a follower %o out of service (to %s); a diverged one stays DIVERGED', (from, to) => {
  const node = follower('f', from);
  transition(node, { kind: 'marked', reason: 'marked rebuilding on the node' }, quiet);
  expect(node.state.kind).toBe(to);
});

test.each<[FollowerState, FollowerState['kind']]>([
  [{ kind: 'NEEDS_RESYNC', reason: 'x' }, 'OUT_OF_SYNC'],
  [{ kind: 'DIVERGED', reason: 'x' }, 'OUT_OF_SYNC'],
  [{ kind: 'IN_SYNC' }, 'IN_SYNC'],
  [{ kind: 'DOWN', reason: 'x' }, 'DOWN'],
])('repaired elsewhere: a follower left out here (%o) takes live writes again and catches up (%s); others stay', (from, to) => {
  const node = follower('f', from);
  transition(node, { kind: 'repaired-elsewhere', reason: 'put back by another server' }, quiet);
  expect(node.state.kind).toBe(to);
});

test('a commit leaving followers out checks their records in one call, names quoted', () => {
  expect(checkExcludedSql(3n, ['follower-1', "o'brien"])).toBe("SELECT syncrep_check_excluded(3, ARRAY['follower-1', 'o''brien']::text[])");
});
