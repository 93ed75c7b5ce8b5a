import type { DataSource } from 'typeorm';
import { FollowerNode, LeaderNode } from '../../src/replication/nodes/cluster-node';
import type { NodeEvent } from '../../src/replication/nodes/node-event';
import type { FollowerState } from '../../src/replication/nodes/node-state';
import { transition } from '../../src/replication/nodes/transitions';

/** The node state machine, whole: every follower event from every follower state, and the leader's. No node is reached. */
const ds = {} as DataSource;
const quiet = { info: () => undefined, warn: () => undefined };

const STATES: Record<string, FollowerState> = {
  IN_SYNC: { kind: 'IN_SYNC' },
  OUT_OF_SYNC: { kind: 'OUT_OF_SYNC', reason: 'before' },
  CATCHING_UP: { kind: 'CATCHING_UP', takesWrites: true },
  'CATCHING_UP (left out)': { kind: 'CATCHING_UP', takesWrites: false },
  NEEDS_RESYNC: { kind: 'NEEDS_RESYNC', reason: 'before' },
  DIVERGED: { kind: 'DIVERGED', reason: 'before' },
  DOWN: { kind: 'DOWN', reason: 'before' },
};

const EVENTS: Record<string, NodeEvent> = {
  unreachable: { kind: 'unreachable', reason: 'why' },
  reachable: { kind: 'reachable' },
  'missed-write': { kind: 'missed-write', reason: 'why' },
  behind: { kind: 'behind', reason: 'why' },
  diverged: { kind: 'diverged', reason: 'why' },
  'log-trimmed': { kind: 'log-trimmed', reason: 'why' },
  'rebuild-started': { kind: 'rebuild-started', reason: 'why' },
  'catch-up-started': { kind: 'catch-up-started', takesWrites: true },
  marked: { kind: 'marked', reason: 'why' },
  'repaired-elsewhere': { kind: 'repaired-elsewhere', reason: 'why' },
  'caught-up': { kind: 'caught-up' },
  'catch-up-failed': { kind: 'catch-up-failed', reason: 'why' },
  'leader-changed': { kind: 'leader-changed', reason: 'why' },
  'epoch-missed': { kind: 'epoch-missed', reason: 'why' },
};

// Per event, the state each of STATES moves to, in STATES' order; '-' : the event does not apply there (no move, false).
const IS = 'IN_SYNC',
  OOS = 'OUT_OF_SYNC',
  CU = 'CATCHING_UP',
  NR = 'NEEDS_RESYNC',
  DIV = 'DIVERGED',
  DOWN = 'DOWN',
  _ = '-';
// prettier-ignore
const TABLE: Record<string, string[]> = {
  //                    IN_SYNC  OOS  CU   CU-out  NR   DIV  DOWN
  unreachable:          [DOWN,   DOWN, DOWN, DOWN, _,   _,   _],
  reachable:            [_,      _,   _,   _,    _,   _,   _],
  'missed-write':       [OOS,    OOS, OOS, OOS,  _,   _,   OOS],
  behind:               [OOS,    _,   _,   _,    _,   _,   _],
  diverged:             [DIV,    DIV, DIV, DIV,  DIV, DIV, DIV],
  'log-trimmed':        [_,      NR,  NR,  NR,   _,   _,   _],
  'rebuild-started':    [NR,     NR,  NR,  NR,   NR,  NR,  NR],
  'catch-up-started':   [CU,     CU,  CU,  CU,   CU,  _,   CU],
  marked:               [NR,     NR,  NR,  NR,   _,   _,   NR],
  'repaired-elsewhere': [_,      _,   _,   _,    OOS, OOS, _],
  'caught-up':          [_,      _,   IS,  IS,   _,   _,   _],
  'catch-up-failed':    [OOS,    OOS, OOS, NR,   _,   _,   _],
  'leader-changed':     [OOS,    OOS, OOS, OOS,  _,   _,   _],
  'epoch-missed':       [NR,     NR,  NR,  NR,   NR,  _,   NR],
};

test('every follower event from every follower state lands where the table says, or nowhere', () => {
  const seen: Record<string, string[]> = {};
  for (const [eventName, event] of Object.entries(EVENTS)) {
    seen[eventName] = Object.values(STATES).map((state) => {
      const node = new FollowerNode('follower-1', ds, 'postgres://f1');
      node.state = state;
      const moved = transition(node, event, quiet);
      if (!moved) {
        expect(node.state).toBe(state);
        return _;
      }
      return node.state.kind;
    });
  }
  expect(seen).toEqual(TABLE);
});

test('a move keeps its reason, counts itself and restarts the clock; a refused event still records its reason as the last error', () => {
  const node = new FollowerNode('follower-1', ds, 'postgres://f1');
  const since = node.stateSince;
  const warned: object[] = [];
  expect(
    transition(node, { kind: 'diverged', reason: 'extra row 7' }, { info: () => undefined, warn: (entry) => warned.push(entry) }),
  ).toBe(true);
  expect(node.state).toEqual({ kind: 'DIVERGED', reason: 'extra row 7' });
  expect(node.transitions.get('IN_SYNC->DIVERGED')).toBe(1);
  expect(node.stateSince.getTime()).toBeGreaterThanOrEqual(since.getTime());
  expect(warned).toEqual([expect.objectContaining({ node: 'follower-1', from: 'IN_SYNC', to: 'DIVERGED', event: 'diverged' })]);
  expect(transition(node, { kind: 'unreachable', reason: 'refused' }, quiet)).toBe(false);
  expect(node.state.kind).toBe('DIVERGED');
  expect(node.lastError).toBe('refused');
});

test('the leader goes DOWN and UP; a follower-only event on the leader is a programming error', () => {
  const leader = new LeaderNode('leader', ds, 'postgres://leader');
  expect(transition(leader, { kind: 'unreachable', reason: 'gone' }, quiet)).toBe(true);
  expect(leader.state).toEqual({ kind: 'DOWN', reason: 'gone' });
  expect(transition(leader, { kind: 'reachable' }, quiet)).toBe(true);
  expect(leader.state).toEqual({ kind: 'UP' });
  for (const name of Object.keys(EVENTS).filter((k) => k !== 'unreachable' && k !== 'reachable')) {
    expect(() => transition(leader, EVENTS[name], quiet)).toThrow(`${name} does not apply to the leader leader`);
  }
});
