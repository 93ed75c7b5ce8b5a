import { badInput, ErrorCode, userError } from '../errors/error-code';
import type { PgNode, FollowerNode } from './nodes/cluster-node';
import type { Roster } from './nodes/cluster';
import { readBlocker } from './nodes/node-state';
import { UnreachableCaseError } from '../errors/unreachable';

export type ReadRoleName = 'LEADER' | 'FOLLOWER' | 'ANY';

/** Where a query wants to read: a node by name, a role, or (neither) the default. */
export interface ReadTarget {
  node?: string | null;
  role?: ReadRoleName | null;
}

/**
 * Picks the nodes a read may go to, best first. With no preference, reads go to in-sync
 * followers in turn, and to the leader when no follower can serve. A named node or role that
 * cannot serve is an error, never silently replaced by another node.
 */
export class ReadRouter {
  private turn = 0;

  constructor(private readonly cluster: Roster) {}

  candidates(target: ReadTarget | null | undefined): PgNode[] {
    const { leader } = this.cluster;
    const role = target?.role ?? 'ANY';
    if (target?.node != null) return [this.named(target.node, role)];
    switch (role) {
      case 'LEADER':
        return [this.usable(leader)];
      case 'FOLLOWER': {
        const followers = this.inTurn();
        if (followers.length === 0) {
          throw userError(ErrorCode.NodeUnavailable, `no follower can serve reads now (${this.followerStates()})`, { role });
        }
        return followers;
      }
      case 'ANY':
        return readBlocker(leader.state) ? this.inTurn() : [...this.inTurn(), leader];
      default:
        throw new UnreachableCaseError(role, 'read role');
    }
  }

  private named(name: string, role: ReadRoleName): PgNode {
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
    return this.usable(node);
  }

  private usable(node: PgNode): PgNode {
    const blocker = readBlocker(node.state);
    if (blocker) throw userError(ErrorCode.NodeUnavailable, `node "${node.name}" cannot serve reads: ${blocker}`, { node: node.name });
    return node;
  }

  /** In-sync followers, starting with the next one in turn, so reads spread evenly. */
  private inTurn(): FollowerNode[] {
    const ready = this.cluster.followers.filter((f) => !readBlocker(f.state));
    if (ready.length === 0) return [];
    const start = this.turn++ % ready.length;
    return [...ready.slice(start), ...ready.slice(0, start)];
  }

  private followerStates(): string {
    return this.cluster.followers.map((f) => `${f.name} ${f.state.kind}`).join(', ') || 'there are no followers';
  }
}
