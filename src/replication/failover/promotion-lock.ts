import { ErrorCode, userError } from '../../errors/error-code';
import type { PgNode } from '../nodes/cluster-node';
import { NodeBusyError, PROMOTION_LOCK, type NodeLocks } from '../nodes/node-lock';
import { row } from '../sql/sql';
import { epochRow } from '../sql/statements';

/**
 * Runs a promotion of `candidate` holding its promotion lock: servers with AUTO_FAILOVER that saw
 * the leader go at the same moment do not promote it at once (their barriers would end each
 * other's sessions mid-way); the second finds it taken (PROMOTION_UNSAFE), and follows the first
 * once it is done. A candidate that cannot be reached to lock is left to the promotion's own
 * probe to refuse.
 */
export async function promotingAlone<T>(locks: NodeLocks, candidate: PgNode, work: () => Promise<T>): Promise<T> {
  let entered = false;
  try {
    return await locks.exclusively(candidate, 'promotion', () => ((entered = true), work()), 0, PROMOTION_LOCK);
  } catch (error) {
    if (entered) throw error;
    if (error instanceof NodeBusyError)
      throw userError(
        ErrorCode.PromotionUnsafe,
        `another server is promoting "${candidate.name}" right now: run nodes, then promote again if it did not finish`,
        { node: candidate.name },
      );
    return work();
  }
}

/**
 * Refuses (PROMOTION_UNSAFE) to promote `name` while another server's promotion of `other` holds
 * its promotion lock, or once that promotion has finished meanwhile (its epoch is active now):
 * only a promotion left unfinished by a promoter that is gone may be superseded.
 */
export async function notBeingPromoted(locks: NodeLocks, other: PgNode, name: string): Promise<void> {
  let finished = false;
  try {
    await locks.exclusively(
      other,
      'checking for a promotion under way',
      async () => void (finished = (await row(other.pool, epochRow())).state === 'active'),
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
