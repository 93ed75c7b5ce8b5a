import type { PgNode } from '../nodes/cluster-node';
import { row } from '../sql/sql';
import { probeRow } from '../sql/epoch-statements';
import type { NodeProbe } from './promotion-rules';
import { withDeadline } from '../nodes/answer-deadline';

/** Reads every node's epoch record, mark, watermark and trim point (read only), each bounded by `timeoutMs`. */
export function probeAll(nodes: readonly PgNode[], timeoutMs: number): Promise<NodeProbe[]> {
  return Promise.all(nodes.map((node) => probe(node, timeoutMs)));
}

async function probe(node: PgNode, timeoutMs: number): Promise<NodeProbe> {
  const unfitHere =
    node.role === 'FOLLOWER' && (node.state.kind === 'DIVERGED' || node.state.kind === 'NEEDS_RESYNC')
      ? `is ${node.state.kind} here`
      : undefined;
  try {
    const found = await withDeadline(row(node.pool, probeRow()), timeoutMs, 'probe timed out');
    return {
      name: node.name,
      reachable: true,
      epoch: BigInt(found.epoch),
      leader: found.leader,
      state: found.state,
      previous: found.previous,
      mark: found.mark,
      watermark: BigInt(found.watermark),
      trimmed: BigInt(found.trimmed),
      unfitHere,
    };
  } catch {
    return { name: node.name, reachable: false, unfitHere };
  }
}
