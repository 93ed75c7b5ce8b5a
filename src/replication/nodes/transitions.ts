import { UnreachableCaseError } from '../../errors/unreachable';
import type { FollowerNode, LeaderNode, PgNode } from './cluster-node';
import type { FollowerState, LeaderState } from './node-state';
import type { NodeEvent } from './node-event';

export type { NodeEvent } from './node-event';

type Logger = { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };

/**
 * Records `event` on `node`: moves it to the state the event leads to (logging and counting the
 * move), or leaves it where it is when the event does not apply there (keeping the reason as
 * `lastError`). Returns whether the state is now the one the event leads to; false for an event
 * that is not allowed from the current state (caught-up on a follower that went DOWN meanwhile).
 */
export function transition(node: PgNode, event: NodeEvent, log: Logger): boolean {
  const next = node.role === 'LEADER' ? leaderNext(node, event) : followerNext(node, event);
  if ('reason' in event) node.noteError(event.reason);
  if (next === undefined) return false;
  const previous = node.state;
  node.state = next;
  node.sink.moved(node.name, previous, next, event);
  if (previous.kind === next.kind) return true;
  node.stateSince = new Date();
  const move = `${previous.kind}->${next.kind}`;
  node.transitions.set(move, (node.transitions.get(move) ?? 0) + 1);
  const entry = {
    node: node.name,
    from: previous.kind,
    to: next.kind,
    event: event.kind,
    reason: 'reason' in next ? next.reason : undefined,
  };
  // Divergence needs a person (resyncNode), so it stands out in the log.
  if (next.kind === 'DIVERGED') log.warn(entry, 'node state changed: diverged from the leader');
  else log.info(entry, 'node state changed');
  return true;
}

function leaderNext(node: LeaderNode, event: NodeEvent): LeaderState | undefined {
  switch (event.kind) {
    case 'unreachable':
      return { kind: 'DOWN', reason: event.reason };
    case 'reachable':
      return { kind: 'UP' };
    case 'missed-write':
    case 'behind':
    case 'diverged':
    case 'log-trimmed':
    case 'rebuild-started':
    case 'catch-up-started':
    case 'marked':
    case 'repaired-elsewhere':
    case 'caught-up':
    case 'catch-up-failed':
    case 'leader-changed':
    case 'epoch-missed':
      throw new Error(`${event.kind} does not apply to the leader ${node.name}`);
    default:
      throw new UnreachableCaseError(event, 'node event');
  }
}

function followerNext(node: FollowerNode, event: NodeEvent): FollowerState | undefined {
  const now = node.state.kind;
  switch (event.kind) {
    case 'unreachable':
      // A diverged follower stays DIVERGED: were it DOWN, its return would start a catch-up that
      // cannot undo its divergence and would put it back in service. One waiting for a rebuild
      // (a deposed leader, say) stays NEEDS_RESYNC: it takes no writes either way, and as DOWN it
      // would hold every write back in sync mode all.
      return now === 'DIVERGED' || now === 'DOWN' || now === 'NEEDS_RESYNC' ? undefined : { kind: 'DOWN', reason: event.reason };
    case 'reachable':
      // A follower comes back through catch-up, never by being reached.
      return undefined;
    case 'missed-write':
      return now === 'DIVERGED' || now === 'NEEDS_RESYNC' ? undefined : { kind: 'OUT_OF_SYNC', reason: event.reason };
    case 'behind':
      return now === 'IN_SYNC' ? { kind: 'OUT_OF_SYNC', reason: event.reason } : undefined;
    case 'diverged':
      return { kind: 'DIVERGED', reason: event.reason };
    case 'log-trimmed':
      return now === 'OUT_OF_SYNC' || now === 'CATCHING_UP' ? { kind: 'NEEDS_RESYNC', reason: event.reason } : undefined;
    case 'rebuild-started':
      return { kind: 'NEEDS_RESYNC', reason: event.reason };
    case 'catch-up-started':
      return now === 'DIVERGED' ? undefined : { kind: 'CATCHING_UP', takesWrites: event.takesWrites };
    case 'marked':
      return now === 'DIVERGED' || now === 'NEEDS_RESYNC' ? undefined : { kind: 'NEEDS_RESYNC', reason: event.reason };
    case 'repaired-elsewhere':
      return now === 'NEEDS_RESYNC' || now === 'DIVERGED' ? { kind: 'OUT_OF_SYNC', reason: event.reason } : undefined;
    case 'caught-up':
      return now === 'CATCHING_UP' ? { kind: 'IN_SYNC' } : undefined;
    case 'catch-up-failed':
      if (now === 'DOWN' || now === 'NEEDS_RESYNC' || now === 'DIVERGED') return undefined;
      // One marked as lacking writes stays left out (it would refuse live writes, SR004).
      if (node.state.kind === 'CATCHING_UP' && !node.state.takesWrites) return { kind: 'NEEDS_RESYNC', reason: event.reason };
      return { kind: 'OUT_OF_SYNC', reason: event.reason };
    case 'leader-changed':
      return now === 'NEEDS_RESYNC' || now === 'DIVERGED' || now === 'DOWN' ? undefined : { kind: 'OUT_OF_SYNC', reason: event.reason };
    case 'epoch-missed':
      return now === 'DIVERGED' ? undefined : { kind: 'NEEDS_RESYNC', reason: event.reason };
    default:
      throw new UnreachableCaseError(event, 'node event');
  }
}
