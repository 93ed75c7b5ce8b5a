import { ErrorCode, userError } from '../../errors/error-code';
import type { FollowerNode, LeaderNode, PgNode } from '../nodes/cluster-node';
import { readBlocker } from '../nodes/node-state';
import { describeFailure, withClient } from '../sql/sql';
import type { MembershipGate } from '../write/membership-gate';
import { differingChunks, differingKeys, settledDifferences, type RowHashes } from './chunk-diff';
import { chunkSums, describeTables, rowsInChunks, rowsWithKeys, type CheckedTable } from './checksum-sql';
import { ConsistentPoint } from './consistent-point';
import type { Roster } from '../nodes/cluster';

/** Most differing keys reported per node (and chunks drilled into per follower, as each holds at least one). */
export const MAX_REPORTED = 100;

/**
 * The comparing half of a consistency check (consistency.ts judges and reports): who is compared,
 * chunk sums and rows at a first consistent point, the suspects' rows again at a second.
 */

/** Per follower, per table (in the order of the check's tables): keys whose rows differ from the leader's. */
export type Found = Map<FollowerNode, string[][]>;

/** Who is compared, with what, as the check found the cluster when it started. */
export interface Plan {
  leader: LeaderNode;
  followers: readonly FollowerNode[];
  compared: FollowerNode[];
  /** Each compared follower's state object at the start: a verdict holds only while it is unchanged. */
  stateAtStart: Map<FollowerNode, FollowerNode['state']>;
  tables: CheckedTable[];
  /** Nodes that got no verdict, and why (filled in as the check goes). */
  skipped: Map<PgNode, string>;
}

/** What the first consistent point found: the suspects and their rows then. */
export interface FirstLook {
  checkedRows: number;
  truncated: Set<FollowerNode>;
  candidates: Found;
  rows: Map<PgNode, RowHashes[]>;
  heldMs: number;
}

/** What the second consistent point confirmed, and each suspect's rows then. */
export interface Recheck {
  found: Found;
  held: Map<FollowerNode, RowHashes[]>;
  heldMs: number;
}

/** The check's plan, from the cluster's roles as they are now. */
export async function planCheck(cluster: Roster): Promise<Plan> {
  const { leader, followers } = cluster;
  const compared = followers.filter((f) => f.state.kind === 'IN_SYNC' || f.state.kind === 'DIVERGED');
  const skipped = new Map<PgNode, string>(
    followers.filter((f) => !compared.includes(f)).map((f) => [f, `not compared: ${readBlocker(f.state)}`]),
  );
  const tables = await withClient(leader.pool, (client) =>
    describeTables(
      client,
      leader.dataSource.entityMetadatas.map((m) => m.tableName),
    ),
  ).catch((error) => leaderFailed(leader, error));
  return { leader, followers, compared, stateAtStart: new Map(compared.map((f) => [f, f.state])), tables, skipped };
}

/** Chunk sums on every compared node at one point, then the rows of the chunks any follower disagrees on. */
export async function firstLook(plan: Plan, gate: MembershipGate): Promise<FirstLook> {
  const { leader, compared, tables } = plan;
  const point = await ConsistentPoint.open([leader, ...compared], gate);
  const truncated = new Set<FollowerNode>();
  const candidates: Found = new Map();
  const rowsAt = new Map<PgNode, RowHashes[]>();
  let checkedRows: number;
  try {
    const sums = await point.each((_node, client) => sequentially(tables, (t) => chunkSums(client, t)));
    const leaderSums = sums.get(leader) ?? leaderFailed(leader, point.failed.get(leader));
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
      const rows = await point.each((_node, client) => sequentially(tables, (t, i) => rowsInChunks(client, t, [...chunks[i]])));
      const leaderRows = rows.get(leader) ?? leaderFailed(leader, point.failed.get(leader));
      for (const [node, hashes] of rows) rowsAt.set(node, hashes);
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
    await point.close();
  }
  for (const [node, failure] of point.failed) plan.skipped.set(node, `did not answer: ${failure}`);
  return { checkedRows, truncated, candidates, rows: rowsAt, heldMs: point.heldMs };
}

/** The suspects' rows again at a second point: what differs again, in the same way, is found. */
export async function recheck(plan: Plan, first: FirstLook, gate: MembershipGate): Promise<Recheck> {
  const { leader, compared, tables } = plan;
  const found: Found = new Map();
  const held = new Map<FollowerNode, RowHashes[]>();
  const suspects = compared.filter((f) => first.candidates.get(f)?.some((keys) => keys.length > 0));
  if (suspects.length === 0) return { found, held, heldMs: 0 };
  const point = await ConsistentPoint.open([leader, ...suspects], gate);
  try {
    const keys = tables.map((_, i) => [...new Set(suspects.flatMap((f) => first.candidates.get(f)![i]))]);
    const rows = await point.each((_node, client) => sequentially(tables, (t, i) => rowsWithKeys(client, t, keys[i])));
    const leaderRows = rows.get(leader) ?? leaderFailed(leader, point.failed.get(leader));
    for (const follower of suspects) {
      const own = rows.get(follower);
      if (!own) continue;
      held.set(follower, own);
      const before = first.rows.get(follower)!;
      const leaderBefore = first.rows.get(leader)!;
      found.set(
        follower,
        tables.map((_, i) =>
          settledDifferences(
            first.candidates.get(follower)![i],
            { leader: leaderBefore[i], follower: before[i] },
            { leader: leaderRows[i], follower: own[i] },
          ),
        ),
      );
    }
  } finally {
    await point.close();
  }
  for (const [node, failure] of point.failed) plan.skipped.set(node, `did not answer at the re-check: ${failure}`);
  return { found, held, heldMs: point.heldMs };
}

/** The per-table results of one node, run one after another on its one connection. */
async function sequentially<T>(tables: readonly CheckedTable[], work: (table: CheckedTable, index: number) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  for (const [index, table] of tables.entries()) results.push(await work(table, index));
  return results;
}

function leaderFailed(leader: LeaderNode, failure: unknown): never {
  const why = typeof failure === 'string' ? failure : describeFailure(failure);
  throw userError(ErrorCode.NodeUnavailable, `the leader "${leader.name}" could not be compared: ${why}`, { node: leader.name });
}
