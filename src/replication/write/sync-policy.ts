import type { SyncMode } from '../../config/settings';
import type { FollowerNode } from '../nodes/cluster-node';
import { UnreachableCaseError } from '../../errors/unreachable';

/** Whom a commit leaves out: followers the leader must record already, and followers the commit records. */
export interface LeftOut {
  recorded: string[];
  toRecord: string[];
}

/** In `all` mode: every follower but those being repaired or diverged (DOWN ones too: they hold writes back). */
function takesLiveWrites(f: FollowerNode): boolean {
  const { state } = f;
  return state.kind !== 'NEEDS_RESYNC' && state.kind !== 'DIVERGED' && !(state.kind === 'CATCHING_UP' && !state.takesWrites);
}

/**
 * Which followers a write goes to, and how many must prepare before the leader may commit.
 * - `all`: every follower must prepare, whatever its state (down, catching up): no write is ever
 *   acknowledged without one, so none ever misses a write and there is nothing to replay out of
 *   order. Only a follower being rebuilt or caught up while marked as lacking writes, or known to
 *   have diverged, is left out, and only while the leader records it so (recovery/write-set.ts).
 * - `quorum k`: writes go to the IN_SYNC followers and commit once k of them prepared; a follower
 *   that misses one is marked OUT_OF_SYNC and left out until it has caught up.
 */
export class SyncPolicy {
  constructor(readonly mode: SyncMode) {}

  targets(followers: readonly FollowerNode[]): FollowerNode[] {
    switch (this.mode.kind) {
      case 'all':
        // A diverged follower would refuse what it is sent; one marked as lacking writes (being
        // rebuilt or caught up) takes them only through its repairer's replays, in position order.
        return followers.filter(takesLiveWrites);
      case 'quorum':
        return followers.filter((f) => f.state.kind === 'IN_SYNC');
      default:
        throw new UnreachableCaseError(this.mode, 'sync mode');
    }
  }

  /**
   * The followers a commit leaves out, as the leader must know them (recovery/write-set.ts): in
   * `all` mode each one not targeted must be recorded already (its record is checked); in quorum
   * mode each one that did not prepare is recorded by the commit itself, so that every server stops
   * reading from it by its next health round.
   */
  leftOut(followers: readonly FollowerNode[], prepared: readonly FollowerNode[]): LeftOut {
    if (this.mode.kind === 'all') return { recorded: followers.filter((f) => !takesLiveWrites(f)).map((f) => f.name), toRecord: [] };
    return { recorded: [], toRecord: followers.filter((f) => !prepared.includes(f)).map((f) => f.name) };
  }

  /**
   * How many of `targets` followers must prepare, of `configured` followers. In `all` mode at least
   * one: a write on the leader alone would be lost with it, and no follower could be promoted.
   */
  required(targets: number, configured: number): number {
    if (this.mode.kind === 'quorum') return this.mode.quorum;
    return configured === 0 ? 0 : Math.max(targets, 1);
  }

  /**
   * Why a write could not commit now, as this server sees its nodes (no reason: it can), and the
   * nodes in the way. In `all` mode every target must be able to prepare (a DOWN one cannot); in
   * quorum mode k must be in sync.
   */
  writeBlockers(leaderDown: boolean, followers: readonly FollowerNode[]): { reasons: string[]; nodes: string[] } {
    const reasons = leaderDown ? ['the leader is down'] : [];
    const nodes: string[] = [];
    const targets = this.targets(followers);
    const required = this.required(targets.length, followers.length);
    const down = targets.filter((f) => f.state.kind === 'DOWN');
    if (this.mode.kind === 'all' && targets.length < required) {
      reasons.push('every follower is being rebuilt or has diverged, and sync mode all needs at least one');
      nodes.push(...followers.map((f) => f.name));
    }
    if (this.mode.kind === 'all') {
      for (const f of down) {
        reasons.push(`follower ${f.name} is down, and sync mode all needs every follower`);
        nodes.push(f.name);
      }
    } else if (targets.length - down.length < required) {
      reasons.push(`only ${targets.length - down.length} follower(s) in sync, quorum ${required} needed`);
      nodes.push(...followers.filter((f) => f.state.kind !== 'IN_SYNC').map((f) => f.name));
    }
    return { reasons, nodes };
  }
}
