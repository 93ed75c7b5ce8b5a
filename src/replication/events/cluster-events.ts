import type { FollowerState, LeaderState, NodeStateName } from '../nodes/node-state';
import type { StateSink } from '../nodes/state-sink';
import type { NodeEvent } from '../nodes/node-event';
import { EventStream } from './event-stream';

/** Every kind of cluster event with what it means, declared once: the GraphQL enum ClusterEventKind is built from it. */
export const CLUSTER_EVENT_KINDS = {
  NODE_STATE_CHANGED: 'A node moved from one state to another (divergence and resyncs have kinds of their own).',
  DIVERGENCE_FOUND: 'A follower was found holding data the leader does not: it is DIVERGED until resyncNode rebuilds it.',
  RESYNC_STARTED: "A follower's rebuild from a snapshot of the leader starts (resyncNode, or a follower behind the leader's log).",
  RESYNC_FINISHED: "A follower's tables were rebuilt; it now replays the writes made meanwhile (its move to IN_SYNC follows).",
  PROMOTED: 'A follower became the leader (failover).',
} as const;
export type ClusterEventKind = keyof typeof CLUSTER_EVENT_KINDS;

/**
 * Something that happened to one node. `from` and `to` are its states before and after (equal
 * for a RESYNC_STARTED on a follower that already needed one); `reason` can quote a server's error
 * message, so the API shows it to operators only.
 */
export interface ClusterEvent {
  kind: ClusterEventKind;
  node: string;
  from?: NodeStateName;
  to?: NodeStateName;
  reason?: string;
  at: Date;
}

type State = FollowerState | LeaderState;

/** Why a node moved, for moves whose new state carries no reason. */
const MOVE_REASONS: Partial<Record<NodeEvent['kind'], string>> = {
  reachable: 'it answered the health check again',
  'catch-up-started': 'it answered again: replaying the writes it missed',
  'caught-up': 'it replayed every write it missed and takes part in writes again',
};

function eventKind(from: NodeStateName, to: NodeStateName, event: NodeEvent['kind']): ClusterEventKind | undefined {
  if (event === 'rebuild-started') return 'RESYNC_STARTED';
  // catch-up moves a follower out of NEEDS_RESYNC only once its rebuild has succeeded.
  if (from === 'NEEDS_RESYNC' && to === 'CATCHING_UP') return 'RESYNC_FINISHED';
  if (from === to) return undefined;
  return to === 'DIVERGED' ? 'DIVERGENCE_FOUND' : 'NODE_STATE_CHANGED';
}

/** How many events a subscriber may fall behind before its stream is ended (see EventStream). */
export const STREAM_CAPACITY = 1000;

/**
 * One server's cluster events: what happens to its nodes, as it happens, for subscribers. Its
 * cluster tells it (`Cluster.listen`: every node carries it as its StateSink), so it hears of
 * its own nodes only, whatever roles they move to.
 */
export class ClusterEvents implements StateSink {
  private readonly listeners = new Set<(event: ClusterEvent) => void>();
  private closed = false;

  /** Calls `listener` with every event from now on, until the returned function is called. */
  subscribe(listener: (event: ClusterEvent) => void): () => void {
    // A wrapper of its own, so that one listener subscribed twice is also removed twice.
    const entry = (event: ClusterEvent) => listener(event);
    this.listeners.add(entry);
    return () => this.listeners.delete(entry);
  }

  /** The events from now on as an async iterator holding at most `capacity` unread ones. */
  stream(capacity = STREAM_CAPACITY): AsyncIterableIterator<ClusterEvent> {
    return new EventStream((listener) => this.subscribe(listener), capacity);
  }

  /** How many subscribers there are (a client that went away must leave none behind). */
  listenerCount(): number {
    return this.listeners.size;
  }

  /** A state `transition` set on one of this server's nodes (every event that applied, moves within a kind included). */
  moved(node: string, from: State, to: State, event: NodeEvent): void {
    const kind = eventKind(from.kind, to.kind, event.kind);
    if (kind === undefined) return;
    const reason =
      'reason' in to ? to.reason : kind === 'RESYNC_FINISHED' ? 'rebuilt from a snapshot of the leader' : MOVE_REASONS[event.kind];
    this.offer({ kind, node, from: from.kind, to: to.kind, reason, at: new Date() });
  }

  /** A promotion made `node` the leader. */
  promoted(node: string, from: NodeStateName | undefined, to: NodeStateName, reason: string): void {
    this.offer({ kind: 'PROMOTED', node, from, to, reason, at: new Date() });
  }

  /** Stops passing events on; subscribers get nothing more. Once the server has stopped. */
  close(): void {
    this.closed = true;
  }

  private offer(event: ClusterEvent): void {
    if (this.closed) return;
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A subscriber never fails the state change that told it (it runs inside `transition`).
      }
    }
  }
}
