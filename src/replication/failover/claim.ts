import { ErrorCode, userError } from '../../errors/error-code';
import type { Logger } from '../../logger';
import type { Roster } from '../nodes/cluster';
import type { PgNode } from '../nodes/cluster-node';
import { describeFailure, inTransaction, rows } from '../sql/sql';
import { claimEpoch } from '../sql/epoch-statements';
import { markRebuilt } from '../sql/mark-statements';
import type { NodeProbe } from './promotion-rules';

/**
 * Claims every reachable node for `epoch` with `leader`, the deposed leader first (its claim waits
 * for its decisions in flight and fences it), then the candidate; returns those that accepted. A
 * node at a newer epoch means another promotion got there first: PROMOTION_UNSAFE.
 */
export async function claimNodes(
  cluster: Roster,
  probes: readonly NodeProbe[],
  claim: { leader: string; previous: string; epoch: bigint },
  log: Logger,
): Promise<PgNode[]> {
  const { leader, previous, epoch } = claim;
  const order = [previous, leader, ...probes.map((p) => p.name).filter((n) => n !== previous && n !== leader)];
  const claimed: PgNode[] = [];
  for (const name of order) {
    const node = cluster.byName(name);
    if (!node || !probes.find((p) => p.name === name)?.reachable) continue;
    let accepted: { state: string }[];
    try {
      // The deposed leader is marked in the same transaction as its claim: whatever happens
      // next, it is rebuilt before it serves (it may hold writes it decided that nobody else has).
      accepted = await inTransaction(node.pool, async (client) => {
        const found = await rows(client, claimEpoch(epoch, leader));
        if (name === previous && found.length > 0)
          await rows(client, markRebuilt(`deposed leader: rebuilt before it rejoins epoch ${epoch}`));
        return found;
      });
    } catch (error) {
      log.warn({ node: name, failure: describeFailure(error) }, 'promotion could not claim a node');
      continue;
    }
    if (accepted.length === 0) {
      throw userError(
        ErrorCode.PromotionUnsafe,
        `node "${name}" is at an epoch newer than ${epoch}: another promotion got there first; run nodes, then promote again`,
      );
    }
    claimed.push(node);
  }
  return claimed;
}
