import { badInput, ErrorCode, userError } from '../../errors/error-code';
import type { PgNode, FollowerNode } from '../nodes/cluster-node';
import type { Roster } from '../nodes/cluster';
import { readBlocker } from '../nodes/node-state';
import { UnreachableCaseError } from '../../errors/unreachable';

export type ReadRoleName = 'LEADER' | 'FOLLOWER' | 'ANY';

/** Where a query wants to read: a node by name, a role, or (neither) the default; and how fresh. */
export interface ReadTarget {
  node?: string | null;
  role?: ReadRoleName | null;
  /** Read only from a node that has applied this position (a mutation's `position`); see position-read.ts. */
  atLeast?: string | null;
  /** Read only from a node at most this many ms behind the leader, as the health monitor last measured it. */
  maxLagMs?: number | null;
}

/**
 * Picks the nodes a read may go to, best first. With no preference, reads go to in-sync
 * followers in turn, and to the leader when no follower can serve. A named node or role that
 * cannot serve is an error, never silently replaced by another node. With `maxLagMs`, a follower
 * known to lag more, or whose lag is not known yet, cannot serve (the leader's lag is 0).
 */
export class ReadRouter {
  private turn = 0;

  constructor(private readonly cluster: Roster) {}

  candidates(target: ReadTarget | null | undefined): PgNode[] {
    const { leader } = this.cluster;
    const role = target?.role ?? 'ANY';
    const maxLagMs = target?.maxLagMs ?? undefined;
    if (target?.node != null) return [this.named(target.node, role, maxLagMs)];
    switch (role) {
      case 'LEADER':
        return [this.usable(leader, maxLagMs)];
      case 'FOLLOWER': {
        const followers = this.inTurn(maxLagMs);
        if (followers.length === 0) {
          const within = maxLagMs === undefined ? '' : ` within maxLagMs ${maxLagMs}`;
          throw userError(ErrorCode.NodeUnavailable, `no follower can serve reads${within} now (${this.followerStates()})`, { role });
        }
        return followers;
      }
      case 'ANY':
        return readBlocker(leader.state) ? this.inTurn(maxLagMs) : [...this.inTurn(maxLagMs), leader];
      default:
        throw new UnreachableCaseError(role, 'read role');
    }
  }

  private named(name: string, role: ReadRoleName, maxLagMs: number | undefined): PgNode {
    const node = this.cluster.byName(name);
    if (!node) {
      const known = this.cluster.nodes.map((n) => n.name).join(', ');
      throw badInput('readFrom.node', `there is no node named "${name}"; known nodes: ${known}`);
    }
    if (role !== 'ANY' && node.role !== role) {
      throw badInput(
        'readFrom.role',
        `node "${name}" is the ${node.role.toLowerCase()}, not a ${role.toLowerCase()}; drop role or name another node`,
      );
    }
    return this.usable(node, maxLagMs);
  }

  private usable(node: PgNode, maxLagMs: number | undefined): PgNode {
    const blocker = readBlocker(node.state) ?? lagBlocker(node, maxLagMs);
    if (blocker) throw userError(ErrorCode.NodeUnavailable, `node "${node.name}" cannot serve reads: ${blocker}`, { node: node.name });
    return node;
  }

  /** In-sync followers (within `maxLagMs`), starting with the next one in turn, so reads spread evenly. */
  private inTurn(maxLagMs: number | undefined): FollowerNode[] {
    const ready = this.cluster.followers.filter((f) => !readBlocker(f.state) && !lagBlocker(f, maxLagMs));
    if (ready.length === 0) return [];
    const start = this.turn++ % ready.length;
    return [...ready.slice(start), ...ready.slice(0, start)];
  }

  private followerStates(): string {
    return this.cluster.followers.map((f) => `${f.name} ${f.state.kind}`).join(', ') || 'there are no followers';
  }
}

/**
 * Why `node` is too stale for `maxLagMs`, or undefined. A follower's lag is as the health monitor
 * last measured it: caught up then counts as 0 (this server's own writes reach it synchronously);
 * one that lacked a write then has lagged at least that long since (its measured lag plus the
 * measurement's age). One never measured is not known to be within any bound.
 */
export function lagBlocker(node: PgNode, maxLagMs: number | undefined, now = Date.now()): string | undefined {
  if (maxLagMs === undefined || node.role === 'LEADER') return undefined;
  const { lag } = node;
  if (!lag) return `its lag is not measured yet, and maxLagMs ${maxLagMs} asks for a known one`;
  const ms = lag.positions === 0 ? 0 : lag.ms + Math.max(0, now - lag.at.getTime());
  return ms > maxLagMs ? `it lags ${ms} ms behind the leader, more than maxLagMs ${maxLagMs}` : undefined;
}
