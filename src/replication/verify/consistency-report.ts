import type { PgNode } from '../nodes/cluster-node';

/** Keys of one table whose rows differ. */
export interface TableDifference {
  table: string;
  /** Primary keys as text (a row literal for composite keys), at most MAX_REPORTED. */
  keys: string[];
}

/** One node's part of a consistency check. */
export interface NodeConsistencyReport {
  name: string;
  role: PgNode['role'];
  /** The node's state once the check was done. */
  state: PgNode['state']['kind'];
  consistent: boolean;
  /** Why the node was not compared (its state, or it did not answer). */
  skipped: string | undefined;
  /** How many rows differ from the leader, at both consistent points. */
  differingRows: number;
  /** Differing keys of tables with a single integer key, at most MAX_REPORTED. */
  differingIds: number[];
  differences: TableDifference[];
  /** True when more chunks or rows differed than were drilled into or listed. */
  truncated: boolean;
  /** True when this check made the follower DIVERGED. */
  markedDiverged: boolean;
}

/** The outcome of one consistency check. */
export interface ConsistencyReport {
  consistent: boolean;
  /** Rows on the leader, every table. */
  checkedRows: number;
  /** Every compared follower agrees with the others and differs from the leader in the same rows. */
  leaderSuspect: boolean;
  summary: string;
  nodes: NodeConsistencyReport[];
  /** Time the whole check took, in ms. */
  totalMs: number;
  /** Time new commits were held back (both consistent points), in ms. */
  heldCommitsMs: number;
  checkedAt: Date;
}

/** Completes a report with its verdict and a sentence a person can act on. */
export function describeReport(parts: Omit<ConsistencyReport, 'consistent' | 'summary' | 'checkedAt'>): ConsistencyReport {
  const { nodes, leaderSuspect, checkedRows } = parts;
  const consistent = nodes.every((n) => n.consistent);
  const sentences: string[] = [];
  if (leaderSuspect) {
    const followers = nodes.filter((n) => n.role === 'FOLLOWER' && !n.skipped).map((n) => n.name);
    const leader = nodes.find((n) => n.role === 'LEADER')!;
    sentences.push(
      `The leader ${leader.name} is the odd one out: ${followers.join(' and ')} agree with each other and all differ from it in ` +
        `${leader.differingRows} row(s) (${keysOf(leader)}). Nothing was marked or repaired: check the leader's rows and decide.`,
    );
  } else if (consistent) {
    sentences.push(`Every node holds the same ${checkedRows} row(s).`);
  } else {
    for (const node of nodes.filter((n) => n.differingRows > 0)) {
      const now = node.markedDiverged
        ? ' It is now DIVERGED: run resyncNode to rebuild it.'
        : node.state === 'DIVERGED'
          ? ' It is DIVERGED.'
          : '';
      sentences.push(`${node.name} differs from the leader in ${node.differingRows} row(s) (${keysOf(node)}).${now}`);
    }
  }
  for (const node of nodes.filter((n) => n.skipped)) sentences.push(`${node.name} was ${node.skipped}.`);
  for (const node of nodes.filter((n) => n.consistent && n.state === 'DIVERGED')) {
    sentences.push(`${node.name} matches the leader now but stays DIVERGED until resyncNode rebuilds it.`);
  }
  return { ...parts, consistent, summary: sentences.join(' '), checkedAt: new Date() };
}

function keysOf(node: NodeConsistencyReport): string {
  const listed = node.differences.map((d) => `${d.table}: ${d.keys.slice(0, 10).join(', ')}`).join('; ');
  return node.truncated || node.differingRows > 10 ? `${listed}, ...` : listed;
}
