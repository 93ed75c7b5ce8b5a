import type { Logger } from '../../logger';
import { leaderOddRows } from './chunk-diff';
import type { FollowerNode } from '../nodes/cluster-node';
import type { Roster } from '../nodes/cluster';
import { markOut } from '../recovery/follower-marks';
import type { NodeLocks } from '../nodes/node-lock';
import type { LeaderTerm } from '../recovery/write-set';
import type { MembershipGate } from '../write/membership-gate';
import { MAX_REPORTED, firstLook, planCheck, recheck, type FirstLook, type Plan, type Recheck } from './consistency-compare';
import { describeReport, type ConsistencyReport, type NodeConsistencyReport } from './consistency-report';

export type { ConsistencyReport, NodeConsistencyReport } from './consistency-report';

export { MAX_REPORTED } from './consistency-compare';

/** What a check needs. */
export interface ConsistencyDeps {
  /** Its roles are read once, when a check starts; nothing is marked if the leader moved meanwhile. */
  cluster: Roster & LeaderTerm;
  gate: MembershipGate;
  locks: NodeLocks;
  log: Logger;
}

/** The verdict: per table the rows where the leader is the odd one out, and the followers to mark. */
interface Verdict {
  oddRows: string[][];
  leaderSuspect: boolean;
  toMark: { follower: FollowerNode; differing: string[] }[];
}

/**
 * Compares the leader with every IN_SYNC (or already DIVERGED) follower, pt-table-checksum style:
 * chunk checksums computed in snapshots taken at one consistent point (consistent-point.ts),
 * differing chunks drilled into row by row in the same snapshots, and the rows found re-checked at
 * a second consistent point (another server sharing the cluster may have had a write in flight at
 * the first; its writes are not held by this process's gate). Only rows differing both times count.
 * A follower found different becomes DIVERGED, unless the leader is the odd one out (every compared
 * follower, two or more, differs from it in the same rows, holding the same there): then nothing
 * is marked, for a person to decide. Other followers are reported as skipped.
 * Compare (firstLook, recheck) -> judge -> apply (markDiverged) -> report.
 */
export async function checkConsistency(deps: ConsistencyDeps): Promise<ConsistencyReport> {
  const started = performance.now();
  const plan = await planCheck(deps.cluster);
  const first = await firstLook(plan, deps.gate);
  const again = await recheck(plan, first, deps.gate);
  const verdict = judge(plan, again);
  const marked = await markDiverged(deps, plan, verdict);
  const report = reportOf(plan, first, again, verdict, marked, performance.now() - started);
  deps.log.info(
    {
      consistent: report.consistent,
      leaderSuspect: verdict.leaderSuspect,
      totalMs: Math.round(report.totalMs),
      heldCommitsMs: report.heldCommitsMs,
    },
    'consistency check',
  );
  return report;
}

/** Per table, whether the leader is the odd one out; otherwise the followers whose rows differ (a pure decision). */
function judge(plan: Plan, again: Recheck): Verdict {
  const answered = plan.compared.filter((f) => !plan.skipped.has(f));
  const oddRows = plan.tables.map((_, i) =>
    leaderOddRows(
      answered.map((f) => {
        const keys = again.found.get(f)?.[i] ?? [];
        return { keys, rows: new Map(keys.map((k) => [k, again.held.get(f)?.[i].get(k)])) };
      }),
    ),
  );
  const leaderSuspect = oddRows.some((keys) => keys.length > 0);
  const toMark = leaderSuspect
    ? []
    : answered
        .map((follower) => ({
          follower,
          differing: plan.tables.flatMap((t, i) => (again.found.get(follower)?.[i] ?? []).map((key) => `${t.table}/${key}`)),
        }))
        .filter(({ differing }) => differing.length > 0);
  return { oddRows, leaderSuspect, toMark };
}

/**
 * Marks each follower the verdict names as diverged, only while the leader is the one the check
 * started with and the follower's state is the very one seen at the start: a rebuild or another
 * verdict in between makes this check's view of it stale.
 */
async function markDiverged(deps: ConsistencyDeps, plan: Plan, verdict: Verdict): Promise<Set<FollowerNode>> {
  const marked = new Set<FollowerNode>();
  for (const { follower, differing } of verdict.toMark) {
    if (deps.cluster.leader !== plan.leader || follower.state !== plan.stateAtStart.get(follower) || follower.state.kind !== 'IN_SYNC')
      continue;
    const sample = differing.slice(0, 10).join(', ');
    await markOut(deps, follower, `consistency check: ${differing.length} row(s) differ from the leader (${sample})`);
    marked.add(follower);
  }
  return marked;
}

function reportOf(
  plan: Plan,
  first: FirstLook,
  again: Recheck,
  verdict: Verdict,
  marked: Set<FollowerNode>,
  totalMs: number,
): ConsistencyReport {
  const { leader, followers, tables, skipped } = plan;
  const nodes: NodeConsistencyReport[] = [leader, ...followers].map((node) => {
    const skip = skipped.get(node);
    // The leader's rows listed are those where it is the odd one out.
    const own = node.role === 'FOLLOWER' ? again.found.get(node) : verdict.oddRows;
    const differences = tables
      .map((t, i) => ({ table: t.table, integer: t.integer, keys: (own?.[i] ?? []).slice(0, MAX_REPORTED) }))
      .filter((d) => d.keys.length > 0);
    const count = own?.reduce((n, keys) => n + keys.length, 0) ?? 0;
    return {
      name: node.name,
      role: node.role,
      state: node.state.kind,
      consistent: skip === undefined && count === 0 && !(verdict.leaderSuspect && node.role === 'LEADER'),
      skipped: skip,
      differingRows: count,
      differingIds: differences
        .filter((d) => d.integer)
        .flatMap((d) => d.keys.map(Number))
        .slice(0, MAX_REPORTED),
      differences: differences.map(({ table, keys }) => ({ table, keys })),
      truncated: node.role === 'FOLLOWER' && first.truncated.has(node) && count > 0,
      markedDiverged: node.role === 'FOLLOWER' && marked.has(node),
    };
  });
  return describeReport({
    nodes,
    checkedRows: first.checkedRows,
    leaderSuspect: verdict.leaderSuspect,
    heldCommitsMs: first.heldMs + again.heldMs,
    totalMs,
  });
}
