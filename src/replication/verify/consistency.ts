import { ErrorCode, userError } from '../../errors/error-code';
import type { Logger } from '../../logger';
import { differingChunks, differingKeys, leaderOddRows, settledDifferences, type FollowerDiff, type RowHashes } from './chunk-diff';
import { chunkSums, describeTables, rowsInChunks, rowsWithKeys, type CheckedTable } from './checksum-sql';
import type { FollowerNode, LeaderNode, PgNode } from '../nodes/cluster-node';
import type { Roster } from '../nodes/cluster';
import { markOut } from '../write/divergence';
import type { NodeLocks } from '../nodes/node-lock';
import type { LeaderTerm } from '../recovery/write-set';
import { ConsistentPoint } from './consistent-point';
import type { MembershipGate } from '../write/membership-gate';
import { readBlocker } from '../nodes/node-state';
import { describeFailure, withClient } from '../sql/sql';
import { describeReport, type ConsistencyReport, type NodeConsistencyReport } from './consistency-report';

export type { ConsistencyReport, NodeConsistencyReport } from './consistency-report';

/** Most differing keys reported per node (and chunks drilled into per follower, as each holds at least one). */
export const MAX_REPORTED = 100;

/** What a check needs. */
export interface ConsistencyDeps {
  /** Its roles are read once, when a check starts; nothing is marked if the leader moved meanwhile. */
  cluster: Roster & LeaderTerm;
  gate: MembershipGate;
  locks: NodeLocks;
  log: Logger;
}

/** Per follower, per table index: keys whose rows differ from the leader's. */
type Found = Map<FollowerNode, string[][]>;

/**
 * Compares the leader with every IN_SYNC (or already DIVERGED) follower, pt-table-checksum style:
 * chunk checksums computed in snapshots taken at one consistent point (consistent-point.ts),
 * differing chunks drilled into row by row in the same snapshots, and the rows found re-checked at
 * a second consistent point (another server sharing the cluster may have had a write in flight at
 * the first; its writes are not held by this process's gate). Only rows differing both times count.
 * A follower found different becomes DIVERGED, unless the leader is the odd one out (every compared
 * follower, two or more, differs from it in the same rows, holding the same there): then nothing
 * is marked, for a person to decide. Other followers are reported as skipped.
 */
export async function checkConsistency(deps: ConsistencyDeps): Promise<ConsistencyReport> {
  const started = performance.now();
  const { gate, log } = deps;
  const { leader, followers } = deps.cluster;
  const compared = followers.filter((f) => f.state.kind === 'IN_SYNC' || f.state.kind === 'DIVERGED');
  const stateAtStart = new Map(compared.map((f) => [f, f.state]));
  const skipped = new Map<PgNode, string>(
    followers.filter((f) => !compared.includes(f)).map((f) => [f, `not compared: ${readBlocker(f.state)}`]),
  );
  const tables = await withClient(leader.pool, (client) =>
    describeTables(
      client,
      leader.dataSource.entityMetadatas.map((m) => m.tableName),
    ),
  ).catch((error) => leaderFailed(leader, error));

  const first = await ConsistentPoint.open([leader, ...compared], gate);
  let checkedRows: number;
  const truncated = new Set<FollowerNode>();
  const candidates: Found = new Map();
  // Row hashes at the first point, by node: the re-check compares against them.
  const firstRows = new Map<PgNode, RowHashes[]>();
  try {
    const sums = await first.each((_node, client) => sequentially(tables, (t) => chunkSums(client, t)));
    const leaderSums = sums.get(leader) ?? leaderFailed(leader, first.failed.get(leader));
    checkedRows = leaderSums.reduce((n, s) => n + s.rows, 0);
    // Per table, the chunks any follower disagrees on (at most MAX_REPORTED per follower).
    const chunks = tables.map(() => new Set<string>());
    for (const follower of compared) {
      sums.get(follower)?.forEach((s, i) => {
        const differing = differingChunks(leaderSums[i].sums, s.sums);
        if (differing.length > MAX_REPORTED) truncated.add(follower);
        for (const chunk of differing.slice(0, MAX_REPORTED)) chunks[i].add(chunk);
      });
    }
    if (chunks.some((c) => c.size > 0)) {
      const rows = await first.each((_node, client) => sequentially(tables, (t, i) => rowsInChunks(client, t, [...chunks[i]])));
      const leaderRows = rows.get(leader) ?? leaderFailed(leader, first.failed.get(leader));
      for (const [node, hashes] of rows) firstRows.set(node, hashes);
      for (const follower of compared) {
        const own = rows.get(follower);
        if (own)
          candidates.set(
            follower,
            tables.map((_, i) => differingKeys(leaderRows[i], own[i])),
          );
      }
    }
  } finally {
    await first.close();
  }
  for (const [node, failure] of first.failed) skipped.set(node, `did not answer: ${failure}`);

  // Second consistent point, for the suspects only: keep what differs again, in the same way.
  let heldMs = first.heldMs;
  const found: Found = new Map();
  const held = new Map<FollowerNode, RowHashes[]>();
  const suspects = compared.filter((f) => candidates.get(f)?.some((keys) => keys.length > 0));
  if (suspects.length > 0) {
    const second = await ConsistentPoint.open([leader, ...suspects], gate);
    heldMs += second.heldMs;
    try {
      const keys = tables.map((_, i) => [...new Set(suspects.flatMap((f) => candidates.get(f)![i]))]);
      const rows = await second.each((_node, client) => sequentially(tables, (t, i) => rowsWithKeys(client, t, keys[i])));
      const leaderRows = rows.get(leader) ?? leaderFailed(leader, second.failed.get(leader));
      for (const follower of suspects) {
        const own = rows.get(follower);
        if (!own) continue;
        held.set(follower, own);
        const before = firstRows.get(follower)!;
        const leaderBefore = firstRows.get(leader)!;
        found.set(
          follower,
          tables.map((_, i) =>
            settledDifferences(
              candidates.get(follower)![i],
              { leader: leaderBefore[i], follower: before[i] },
              { leader: leaderRows[i], follower: own[i] },
            ),
          ),
        );
      }
    } finally {
      await second.close();
    }
    for (const [node, failure] of second.failed) skipped.set(node, `did not answer at the re-check: ${failure}`);
  }

  const answered = compared.filter((f) => !skipped.has(f));
  const diffs = answered.map((f) => followerDiff(tables, found.get(f), held.get(f)));
  const oddRows = leaderOddRows(diffs);
  const leaderSuspect = oddRows.length > 0;
  const marked: FollowerNode[] = [];
  for (const [index, follower] of answered.entries()) {
    const differing = diffs[index].keys;
    // Only a follower whose state is the very one seen at the start: a rebuild or another
    // verdict in between makes this check's view of it stale.
    if (
      leaderSuspect ||
      differing.length === 0 ||
      deps.cluster.leader !== leader ||
      follower.state !== stateAtStart.get(follower) ||
      follower.state.kind !== 'IN_SYNC'
    )
      continue;
    const sample = differing.slice(0, 10).join(', ');
    await markOut(deps, follower, `consistency check: ${differing.length} row(s) differ from the leader (${sample})`);
    marked.push(follower);
  }

  const nodes: NodeConsistencyReport[] = [leader, ...followers].map((node) => {
    const skip = skipped.get(node);
    // The leader's rows listed are those where it is the odd one out.
    const own =
      node.role === 'FOLLOWER'
        ? found.get(node)
        : tables.map((t) => oddRows.filter((k) => k.startsWith(`${t.table}/`)).map((k) => k.slice(t.table.length + 1)));
    const differences = tables
      .map((t, i) => ({ table: t.table, integer: t.integer, keys: (own?.[i] ?? []).slice(0, MAX_REPORTED) }))
      .filter((d) => d.keys.length > 0);
    const count = own?.reduce((n, keys) => n + keys.length, 0) ?? 0;
    return {
      name: node.name,
      role: node.role,
      state: node.state.kind,
      consistent: skip === undefined && count === 0 && !(leaderSuspect && node.role === 'LEADER'),
      skipped: skip,
      differingRows: count,
      differingIds: differences
        .filter((d) => d.integer)
        .flatMap((d) => d.keys.map(Number))
        .slice(0, MAX_REPORTED),
      differences: differences.map(({ table, keys }) => ({ table, keys })),
      truncated: node.role === 'FOLLOWER' && truncated.has(node) && count > 0,
      markedDiverged: node.role === 'FOLLOWER' && marked.includes(node),
    };
  });
  const report = describeReport({ nodes, checkedRows, leaderSuspect, heldCommitsMs: heldMs, totalMs: performance.now() - started });
  log.info(
    { consistent: report.consistent, leaderSuspect, totalMs: Math.round(report.totalMs), heldCommitsMs: report.heldCommitsMs },
    'consistency check',
  );
  return report;
}

/** The per-table results of one node, run one after another on its one connection. */
async function sequentially<T>(tables: readonly CheckedTable[], work: (table: CheckedTable, index: number) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  for (const [index, table] of tables.entries()) results.push(await work(table, index));
  return results;
}

function followerDiff(tables: readonly CheckedTable[], found: string[][] | undefined, rows: RowHashes[] | undefined): FollowerDiff {
  const diff: FollowerDiff = { keys: [], rows: new Map() };
  tables.forEach((t, i) => {
    for (const key of found?.[i] ?? []) {
      diff.keys.push(`${t.table}/${key}`);
      diff.rows.set(`${t.table}/${key}`, rows?.[i].get(key));
    }
  });
  diff.keys.sort();
  return diff;
}

function leaderFailed(leader: LeaderNode, failure: unknown): never {
  const why = typeof failure === 'string' ? failure : describeFailure(failure);
  throw userError(ErrorCode.NodeUnavailable, `the leader "${leader.name}" could not be compared: ${why}`, { node: leader.name });
}
