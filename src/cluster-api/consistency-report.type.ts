import { Field, Float, Int, ObjectType } from 'type-graphql';
import type { ConsistencyReport as Report } from '../replication/verify/consistency';
import { NodeIdentity, NodeRole } from './cluster-node.type';

@ObjectType({ description: 'Keys of one table whose rows differ from the leader.' })
export class TableDifference {
  @Field()
  table!: string;

  @Field(() => [String], { description: 'Primary keys as text (a row literal for composite keys); at most 100.' })
  keys!: string[];
}

@ObjectType({ description: "One node's part of a consistency check; its state is the one once the check was done." })
export class NodeConsistency extends NodeIdentity {
  @Field({ description: 'Compared, and holds the same rows as the leader. False when skipped.' })
  consistent!: boolean;

  @Field({
    nullable: true,
    description: 'Why the node was not compared: its state (only IN_SYNC and DIVERGED followers are), or it did not answer.',
  })
  skipped?: string;

  @Field(() => Int, { description: 'Rows that differ from the leader at both consistent points (missing, extra or changed).' })
  differingRows!: number;

  @Field(() => [Int], {
    description:
      'Ids of the differing rows, in tables keyed by one integer column: at most 100 per node (see truncated). ' +
      'On the leader, filled only when the leader is the odd one out.',
  })
  differingIds!: number[];

  @Field(() => [TableDifference], { description: 'Differing keys per table, any key type; at most 100 per table.' })
  differences!: TableDifference[];

  @Field({ description: 'More rows differ than were looked into or listed.' })
  truncated!: boolean;

  @Field({ description: 'This check made the follower DIVERGED.' })
  markedDiverged!: boolean;
}

@ObjectType({
  description:
    'Every node compared with the leader by chunked checksums in snapshots taken at one consistent point, rows found ' +
    'different re-checked at a second one. A follower found different becomes DIVERGED, unless the leader is the odd one out.',
})
export class ConsistencyReport {
  @Field({ description: 'Every node was compared and holds the same rows.' })
  consistent!: boolean;

  @Field(() => Int, { description: 'Rows on the leader, every table.' })
  checkedRows!: number;

  @Field({
    description:
      'Two or more followers were compared, they agree with each other, and every one differs from the leader in the same rows: ' +
      'the leader is suspect. Nothing is marked or repaired then: a person decides.',
  })
  leaderSuspect!: boolean;

  @Field({ description: 'What was found, and what to do, in a sentence or two.' })
  summary!: string;

  @Field(() => [NodeConsistency], { description: 'Leader first.' })
  nodes!: NodeConsistency[];

  @Field(() => Float, { description: 'How long the check took, in ms.' })
  totalMs!: number;

  @Field(() => Float, { description: "How long this server's new commits were held back to take the consistent snapshots, in ms." })
  heldCommitsMs!: number;

  @Field({ description: 'When the check finished (ISO 8601).' })
  checkedAt!: string;

  static from(report: Report): ConsistencyReport {
    return {
      ...report,
      totalMs: round(report.totalMs),
      heldCommitsMs: round(report.heldCommitsMs),
      checkedAt: report.checkedAt.toISOString(),
      nodes: report.nodes.map((n) => ({ ...n, role: n.role as NodeRole, state: n.state, skipped: n.skipped })),
    };
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
