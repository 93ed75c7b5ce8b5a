import type { LeaderNode } from '../nodes/cluster-node';
import { rows } from '../sql/sql';
import { sessionAlive } from '../sql/instance-statements';

/** How often, and how many times, to look for the leader session that got an undecided COMMIT. */
const POLL_MS = 500;
const POLLS = 1200;

/**
 * Keeps an undecided gid in `inFlight` (away from the in-doubt resolver) until the leader session
 * that got its COMMIT has ended: until then that COMMIT may still take effect. Bounded: a leader
 * that stays away this long has long since ended that session.
 */
export async function releaseWhenGone(leader: LeaderNode, inFlight: Set<string>, gid: string, backendPid: number): Promise<void> {
  for (let attempt = 0; attempt < POLLS; attempt++) {
    // Unref'd: a server stopping (or a leader gone for good) does not wait for this.
    await new Promise((resolve) => setTimeout(resolve, POLL_MS).unref());
    const alive = await rows(leader.pool, sessionAlive(backendPid)).catch(() => undefined);
    if (alive && alive.length === 0) break;
  }
  inFlight.delete(gid);
}
