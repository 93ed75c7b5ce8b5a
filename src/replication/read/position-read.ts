import { ErrorCode, userError } from '../../errors/error-code';
import type { PgNode } from '../nodes/cluster-node';
import { formatPosition } from '../write/write-outcome';

/** What one try of a read at a position on one node came to. */
export type PositionAttempt<T> =
  | { kind: 'served'; value: T }
  /** The node answered the check: it has not applied the position yet. */
  | { kind: 'lacks' }
  /** The node did not answer the check in time (paused, say); the read moved on. */
  | { kind: 'silent' }
  /** The node could not be reached (see ReplicationService.read). */
  | { kind: 'failed'; failure: string; /** It answers, but stopped serving reads while this one waited. */ stopped?: boolean };

/** How long a read at a position waits. */
export interface PositionWait {
  /** READ_WAIT_MS: for some node to apply the position. */
  waitMs: number;
  /** HEALTH_TIMEOUT_MS: for one node to answer one check; past that it is passed over, as the monitor would mark it down. */
  checkMs: number;
}

/**
 * Reads from the first of `candidates` (best first) found to have committed `position`, checking
 * each in turn, and again, for up to `wait.waitMs`, those that answered without it. Each check
 * gets `wait.checkMs` to answer, however much of the wait is left, so a paused node delays the
 * read by that much, not by the whole wait, and the nodes after it are still asked. A node that
 * did not answer or failed is not asked again by this read: a paused node would otherwise collect
 * one waiting connection per round. Nobody with it in time: POSITION_NOT_REACHED when a node
 * answered without it, NODE_UNAVAILABLE when none answered. `pinned`: the client named the node or role.
 */
export async function readAtLeast<T>(
  candidates: readonly PgNode[],
  position: bigint,
  wait: PositionWait,
  pinned: boolean,
  tryNode: (node: PgNode, checkMs: number) => Promise<PositionAttempt<T>>,
): Promise<{ node: PgNode; value: T }> {
  const { waitMs, checkMs } = wait;
  const deadline = Date.now() + waitMs;
  const delay = pollDelays();
  const outcomes = new Map<PgNode, PositionAttempt<T>>();
  let asking = [...candidates];
  for (;;) {
    for (const node of asking) {
      const attempt = await tryNode(node, checkMs);
      if (attempt.kind === 'served') return { node, value: attempt.value };
      outcomes.set(node, attempt);
    }
    asking = asking.filter((node) => outcomes.get(node)?.kind === 'lacks');
    const left = deadline - Date.now();
    if (left <= 0 || asking.length === 0) throw notReached(candidates, outcomes, position, waitMs, pinned);
    await new Promise((resolve) => setTimeout(resolve, Math.min(delay(), left)));
  }
}

function notReached<T>(
  candidates: readonly PgNode[],
  outcomes: Map<PgNode, PositionAttempt<T>>,
  position: bigint,
  waitMs: number,
  pinned: boolean,
): Error {
  const at = formatPosition(position);
  const said = candidates.map((node) => `${node.name} ${describe(outcomes.get(node))}`).join('; ');
  const details = { node: candidates.length === 1 ? candidates[0].name : null, position: at };
  if (![...outcomes.values()].some((o) => o.kind === 'lacks')) {
    return userError(ErrorCode.NodeUnavailable, `no node could check position ${at} (${said})`, details);
  }
  const leaderLacks = candidates.some((node) => node.role === 'LEADER' && outcomes.get(node)?.kind === 'lacks');
  const hint = leaderLacks
    ? '; the leader lacks it too, so no write was acknowledged at it'
    : pinned
      ? '; leave out node and role to read from any node that has it (the leader has every acknowledged write)'
      : '';
  return userError(
    ErrorCode.PositionNotReached,
    `no node that may serve this read had applied position ${at} within READ_WAIT_MS (${waitMs} ms): ${said}${hint}`,
    details,
  );
}

function describe<T>(outcome: PositionAttempt<T> | undefined): string {
  switch (outcome?.kind) {
    case 'lacks':
      return 'has not applied it';
    case 'silent':
      return 'did not answer in time';
    case 'failed':
      return `did not answer (${outcome.failure})`;
    default:
      return 'was not asked';
  }
}

/** Time between rounds of checks: short at first, as a follower lacking a write is usually a commit away. */
export function pollDelays(): () => number {
  let delay = 10;
  return () => {
    const current = delay;
    delay = Math.min(delay * 2, 100);
    return current;
  };
}
