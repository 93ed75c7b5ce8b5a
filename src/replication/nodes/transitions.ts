import { UnreachableCaseError } from '../../errors/unreachable';
import { announceTransition } from '../cluster-events';
import type { FollowerNode, LeaderNode, PgNode } from './cluster-node';
import type { FollowerState, LeaderState } from './node-state';

/**
 * What happened to a node. Callers say this, never which state to set: `transition` alone knows
 * which state each event leads to from each state, and which moves are not allowed.
 */
export type NodeEvent =
  /** A check, a read or a write could not reach it. */
  | { kind: 'unreachable'; reason: string }
  /** The leader answered the health check again (a follower comes back through catch-up). */
  | { kind: 'reachable' }
  /** It missed a write that committed without it, or failed to commit one it had prepared. */
  | { kind: 'missed-write'; reason: string }
  /** It refused a write for a row an earlier write changed, and lacks that earlier write. */
  | { kind: 'behind'; reason: string }
  /** Its rows differ from the leader's (a refused write it lacked nothing for, a consistency check, a refused replay). */
  | { kind: 'diverged'; reason: string }
  /** What it lacks is no longer in the leader's log. */
  | { kind: 'log-trimmed'; reason: string }
  /** A rebuild from a snapshot of the leader starts (it takes no writes meanwhile). */
  | { kind: 'rebuild-started'; reason: string }
  /** Catch-up starts; `takesWrites` false while it is marked on the node as lacking writes (see FollowerState). */
  | { kind: 'catch-up-started'; takesWrites: boolean }
  /** Its node carries a mark another server set (it is being repaired, or lacks or holds what the leader does not). */
  | { kind: 'marked'; reason: string }
  /** It was left out of writes here, but its repairer has put it back in the write set: it catches up here too. */
  | { kind: 'repaired-elsewhere'; reason: string }
  /** Catch-up replayed the last entries with new commits held back: it has every write. */
  | { kind: 'caught-up' }
  | { kind: 'catch-up-failed'; reason: string }
  /** A promotion reached it and moved the leader: it catches up from the new one. */
  | { kind: 'leader-changed'; reason: string }
  /** A promotion moved the leader without reaching it: it may hold writes no leader kept. */
  | { kind: 'epoch-missed'; reason: string };

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
  announceTransition(node, previous, next, event);
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
