import type { Runner } from '../sql/sql';
import { row } from '../sql/sql';
import { horizonPassed, positionHorizon } from '../sql/statements';

/** How often the leader is asked whether the transactions running at the horizon have ended. */
const POLL_MS = 5;

/**
 * The highest position taken on the leader so far, once every transaction that could still commit
 * a position at or below it has ended: from then on the log at or below it is final (each position
 * is in it, or never will be). Positions are taken before commit, so a log read without this wait
 * can show p+1 while p is still to come. Undefined when they have not all ended within `waitMs`
 * (a transaction waiting on a stalled follower, a prepared one left on the leader).
 */
export async function settledHorizon(leader: Runner, waitMs: number): Promise<bigint | undefined> {
  const { horizon, xid } = await row(leader, positionHorizon());
  const deadline = Date.now() + waitMs;
  for (;;) {
    if ((await row(leader, horizonPassed(xid))).done) return BigInt(horizon);
    if (Date.now() >= deadline) return undefined;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
