import type { Pool } from 'pg';
import type { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import type { FollowerState, LeaderState } from './node-state';

/** What every node has: a name, its TypeORM DataSource and what the server last saw of it. */
abstract class NodeBase {
  lastError: string | undefined;
  lastContact: Date | undefined;

  constructor(readonly name: string, readonly dataSource: DataSource) {}

  /** The pg pool TypeORM created for this node; the write path uses it directly to save round trips. */
  get pool(): Pool {
    return (this.dataSource.driver as PostgresDriver).master as Pool;
  }
}

/** The node where every write is decided. */
export class LeaderNode extends NodeBase {
  readonly role = 'LEADER' as const;
  state: LeaderState = { kind: 'UP' };

  /** PostgreSQL 18 and later can return a row's prior image from an UPDATE (`RETURNING old`). */
  constructor(name: string, dataSource: DataSource, readonly returnsOld: boolean) {
    super(name, dataSource);
  }
}

/** A node that receives every write synchronously and can serve reads while IN_SYNC. */
export class FollowerNode extends NodeBase {
  readonly role = 'FOLLOWER' as const;
  state: FollowerState = { kind: 'IN_SYNC' };
  /** Highest position this follower is known to have applied. */
  appliedPosition = 0n;
  /** Every committed position at or below this is applied here (persisted in syncrep_watermark). */
  watermark = 0n;
}

export type ClusterNode = LeaderNode | FollowerNode;

/** Logs a state change once, where it happens. */
export function setState<N extends ClusterNode>(
  node: N,
  next: N['state'],
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void },
): void {
  const previous = node.state;
  node.state = next;
  if ('reason' in next) node.lastError = next.reason;
  if (previous.kind !== next.kind) {
    const entry = { node: node.name, from: previous.kind, to: next.kind, reason: 'reason' in next ? next.reason : undefined };
    // Divergence needs a person (resyncNode), so it stands out in the log.
    if (next.kind === 'DIVERGED') log.warn(entry, 'node state changed: diverged from the leader');
    else log.info(entry, 'node state changed');
  }
}
