import type { DataSource } from 'typeorm';
import { GraphQLError } from 'graphql';
import { ClusterEvents, type ClusterEvent } from '../../src/replication/events/cluster-events';
import { FollowerNode, LeaderNode } from '../../src/replication/nodes/cluster-node';
import { transition } from '../../src/replication/nodes/transitions';

// transition() reads and writes a node's state only: no connection is ever made.
const ds = {} as DataSource;
const quiet = { info: () => undefined, warn: () => undefined };

/** A follower owned by a fresh ClusterEvents, and everything that ClusterEvents announces. */
function watched(): { node: FollowerNode; events: ClusterEvents; seen: ClusterEvent[] } {
  const node = new FollowerNode('follower-1', ds, 'postgres://follower-1');
  const events = new ClusterEvents();
  node.sink = events;
  const seen: ClusterEvent[] = [];
  events.subscribe((event) => seen.push(event));
  return { node, events, seen };
}

test('each state move is one event, named for what it means; an event that moves nothing announces nothing', () => {
  const { node, events, seen } = watched();
  try {
    transition(node, { kind: 'unreachable', reason: 'connection refused' }, quiet);
    transition(node, { kind: 'unreachable', reason: 'still refused' }, quiet);
    transition(node, { kind: 'catch-up-started', takesWrites: true }, quiet);
    transition(node, { kind: 'diverged', reason: 'extra row 7' }, quiet);
    transition(node, { kind: 'rebuild-started', reason: 'rebuild requested (resyncNode)' }, quiet);
    transition(node, { kind: 'catch-up-started', takesWrites: true }, quiet);
    transition(node, { kind: 'caught-up' }, quiet);
    expect(seen.map(({ kind, from, to, reason }) => ({ kind, from, to, reason }))).toEqual([
      { kind: 'NODE_STATE_CHANGED', from: 'IN_SYNC', to: 'DOWN', reason: 'connection refused' },
      { kind: 'NODE_STATE_CHANGED', from: 'DOWN', to: 'CATCHING_UP', reason: expect.stringMatching(/answered again/) },
      { kind: 'DIVERGENCE_FOUND', from: 'CATCHING_UP', to: 'DIVERGED', reason: 'extra row 7' },
      { kind: 'RESYNC_STARTED', from: 'DIVERGED', to: 'NEEDS_RESYNC', reason: 'rebuild requested (resyncNode)' },
      { kind: 'RESYNC_FINISHED', from: 'NEEDS_RESYNC', to: 'CATCHING_UP', reason: expect.any(String) },
      { kind: 'NODE_STATE_CHANGED', from: 'CATCHING_UP', to: 'IN_SYNC', reason: expect.any(String) },
    ]);
    expect(seen.every((e) => e.node === 'follower-1' && e.at instanceof Date)).toBe(true);
  } finally {
    events.close();
  }
});

test('a server hears only about its own nodes, and nothing once closed', () => {
  const mine = watched();
  const theirs = watched();
  try {
    transition(theirs.node, { kind: 'unreachable', reason: 'down' }, quiet);
    expect(mine.seen).toEqual([]);
    expect(theirs.seen).toHaveLength(1);
    mine.events.close();
    transition(mine.node, { kind: 'unreachable', reason: 'down' }, quiet);
    expect(mine.seen).toEqual([]);
  } finally {
    mine.events.close();
    theirs.events.close();
  }
});

test('a node that changes role keeps telling its own server: handOver carries the sink, and the replaced object goes silent', () => {
  const { node, events, seen } = watched();
  try {
    const promoted = new LeaderNode(node.name, ds, node.url);
    node.handOver(promoted);
    transition(promoted, { kind: 'unreachable', reason: 'gone' }, quiet);
    expect(seen.map(({ kind, node: name, to }) => ({ kind, name, to }))).toEqual([
      { kind: 'NODE_STATE_CHANGED', name: 'follower-1', to: 'DOWN' },
    ]);
    // The replaced object (a read may still hold it) tells no one of a state of its old role.
    transition(node, { kind: 'unreachable', reason: 'stale object' }, quiet);
    expect(seen).toHaveLength(1);
  } finally {
    events.close();
  }
});

test('a stream delivers in order, and return() unsubscribes and ends a pending read', async () => {
  const { node, events } = watched();
  try {
    const stream = events.stream(10);
    expect(events.listenerCount()).toBe(2);
    transition(node, { kind: 'unreachable', reason: 'a' }, quiet);
    transition(node, { kind: 'catch-up-started', takesWrites: true }, quiet);
    expect((await stream.next()).value).toMatchObject({ to: 'DOWN' });
    expect((await stream.next()).value).toMatchObject({ to: 'CATCHING_UP' });
    const pending = stream.next();
    await stream.return!();
    expect(await pending).toEqual({ value: undefined, done: true });
    expect(events.listenerCount()).toBe(1);
  } finally {
    events.close();
  }
});

test('a reader that falls `capacity` events behind is ended with SUBSCRIBER_TOO_SLOW and unsubscribed; its buffer is freed', async () => {
  const { node, events } = watched();
  try {
    const stream = events.stream(3);
    // Four unread moves: DOWN, CATCHING_UP, OUT_OF_SYNC, CATCHING_UP.
    transition(node, { kind: 'unreachable', reason: 'a' }, quiet);
    transition(node, { kind: 'catch-up-started', takesWrites: true }, quiet);
    transition(node, { kind: 'catch-up-failed', reason: 'b' }, quiet);
    transition(node, { kind: 'catch-up-started', takesWrites: true }, quiet);
    expect(events.listenerCount()).toBe(1);
    const failure = await stream.next().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(GraphQLError);
    expect((failure as GraphQLError).extensions.code).toBe('SUBSCRIBER_TOO_SLOW');
    expect(await stream.next()).toEqual({ value: undefined, done: true });
  } finally {
    events.close();
  }
});
