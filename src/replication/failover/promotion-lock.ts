import { ErrorCode, userError } from '../../errors/error-code';
import type { PgNode } from '../nodes/cluster-node';
import { NodeBusyError, PROMOTION_LOCK, type NodeLocks } from '../nodes/node-lock';
import { row } from '../sql/sql';
import { epochRow } from '../sql/epoch-statements';

/**
 * Runs a promotion of `candidate` holding the promotion lock of every follower it may claim (the
 * candidate among them), taken in name order: servers with AUTO_FAILOVER that saw the leader go
 * at the same moment do not promote at once, whether they chose the same follower or two
 * different ones (two promotions to one epoch would split the claims between them and complete
 * neither). The second finds a lock taken (PROMOTION_UNSAFE) and follows the first once it is
 * done. A follower that cannot be reached to lock is skipped: the promotion's own probe and claims
 * decide about it.
 */
export async function promotingAlone<T>(
  locks: NodeLocks,
  candidate: PgNode,
  followers: readonly PgNode[],
  work: (locked: ReadonlySet<string>) => Promise<T>,
): Promise<T> {
  const locked = new Set<string>();
  const order = [...followers].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const lockFrom = async (i: number): Promise<T> => {
    if (i === order.length) return work(locked);
    let entered = false;
    try {
      return await locks.exclusively(
        order[i],
        'promotion',
        () => ((entered = true), locked.add(order[i].name), lockFrom(i + 1)),
        0,
        PROMOTION_LOCK,
      );
    } catch (error) {
      if (entered) throw error;
      if (error instanceof NodeBusyError)
        throw userError(
          ErrorCode.PromotionUnsafe,
          `another server is promoting a follower right now (it holds ${order[i].name}'s promotion lock): run nodes, then promote "${candidate.name}" again if that promotion did not finish`,
          { node: candidate.name },
        );
      return lockFrom(i + 1);
    }
  };
  return lockFrom(0);
}

/**
 * Refuses (PROMOTION_UNSAFE) to promote `name` while another server's promotion of `other` holds
 * its promotion lock, or once that promotion has finished meanwhile (its epoch is active now):
 * only a promotion left unfinished by a promoter that is gone may be superseded. `heldHere`: this
 * server's own promotion holds that lock already.
 */
export async function notBeingPromoted(locks: NodeLocks, other: PgNode, name: string, heldHere = false): Promise<void> {
  let finished = false;
  const finishedNow = async () => (await row(other.pool, epochRow())).state === 'active';
  try {
    // Held by this very promotion: no other server's promotion of it can be under way.
    if (heldHere) finished = await finishedNow();
    else
      await locks.exclusively(
        other,
        'checking for a promotion under way',
        async () => void (finished = await finishedNow()),
        0,
        PROMOTION_LOCK,
      );
  } catch (error) {
    if (!(error instanceof NodeBusyError)) return;
    throw userError(
      ErrorCode.PromotionUnsafe,
      `another server is promoting "${other.name}" right now: run nodes, then promote "${name}" again if that promotion did not finish`,
      { node: name },
    );
  }
  if (finished)
    throw userError(
      ErrorCode.PromotionUnsafe,
      `${other.name} has just been promoted through another server; this server follows it at its next health round. Run nodes, then promote again if you still want to move the leader`,
      { node: name },
    );
}
