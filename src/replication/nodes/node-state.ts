import { UnreachableCaseError } from '../../errors/unreachable';

/** Every state name, declared once: the GraphQL enum and the metrics are built from this list. */
export const NODE_STATE_NAMES = ['UP', 'DOWN', 'IN_SYNC', 'CATCHING_UP', 'OUT_OF_SYNC', 'NEEDS_RESYNC', 'DIVERGED'] as const;
export type NodeStateName = (typeof NODE_STATE_NAMES)[number];

/** States a follower can be in; only IN_SYNC followers serve reads and take part in writes. */
export type FollowerState =
  | { kind: 'IN_SYNC' }
  /**
   * Replaying the leader's log; joins the synchronous set when it reaches the leader's position.
   * `takesWrites` is false for one marked on the node (rebuilt, or found behind): it lacks writes,
   * so live writes would land on rows missing earlier ones; it takes them only once caught up.
   */
  | { kind: 'CATCHING_UP'; takesWrites: boolean }
  /** Missed a write (or failed to commit one); waits for the monitor to start catch-up. */
  | { kind: 'OUT_OF_SYNC'; reason: string }
  /** Behind what the leader's log keeps: its tables are rebuilt from a snapshot of the leader. */
  | { kind: 'NEEDS_RESYNC'; reason: string }
  /**
   * Holds data the leader does not (found by a consistency check, or by refusing a write it lacks
   * nothing for). Out of service until an operator rebuilds it (`resyncNode`): catch-up cannot fix
   * it, as it only adds what is missing, so the health monitor never rejoins it on its own.
   */
  | { kind: 'DIVERGED'; reason: string }
  | { kind: 'DOWN'; reason: string };

export type LeaderState = { kind: 'UP' } | { kind: 'DOWN'; reason: string };

/** Fails to compile when a state kind is missing from NODE_STATE_NAMES, or listed there without a kind. */
const namesMatchKinds: [
  Exclude<FollowerState['kind'] | LeaderState['kind'], NodeStateName>,
  Exclude<NodeStateName, FollowerState['kind'] | LeaderState['kind']>,
] extends [never, never]
  ? true
  : never = true;
void namesMatchKinds;

/**
 * Why a node cannot serve reads, or undefined when it can, in words any client may see: the
 * state's own reason can quote a server's message, so only operators see it (nodes.lastError).
 */
export function readBlocker(state: FollowerState | LeaderState): string | undefined {
  switch (state.kind) {
    case 'UP':
    case 'IN_SYNC':
      return undefined;
    case 'CATCHING_UP':
      return 'it is catching up with the leader';
    case 'OUT_OF_SYNC':
      return 'it is out of sync (it missed a write) until it has caught up';
    case 'NEEDS_RESYNC':
      return 'it is being rebuilt, or marked as lacking writes until it has caught up';
    case 'DIVERGED':
      return 'it has diverged from the leader and serves nothing until resyncNode rebuilds it';
    case 'DOWN':
      return 'it is down';
    default:
      throw new UnreachableCaseError(state, 'node state');
  }
}

/**
 * Whether the health monitor should hand a reachable follower in `state` to catch-up. A diverged
 * follower is not: replaying what it lacks would not remove what it holds and the leader does not,
 * so only an explicit rebuild (`resyncNode`) brings it back.
 */
export function monitorRejoins(state: FollowerState): boolean {
  switch (state.kind) {
    case 'IN_SYNC':
    case 'CATCHING_UP':
    case 'DIVERGED':
      return false;
    case 'OUT_OF_SYNC':
    case 'NEEDS_RESYNC':
    case 'DOWN':
      return true;
    default:
      throw new UnreachableCaseError(state, 'node state');
  }
}
