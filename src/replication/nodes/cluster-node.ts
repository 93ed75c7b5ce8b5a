import type { Pool } from 'pg';
import type { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import type { FollowerState, LeaderState } from './node-state';

/** What every node has: a name, its TypeORM DataSource and what the server last saw of it. */
abstract class NodeBase {
  lastError: string | undefined;
  lastContact: Date | undefined;
  /** State changes so far, by "FROM->TO" (counted by `transition`, exported as a metric). */
  readonly transitions = new Map<string, number>();

  constructor(
    readonly name: string,
    readonly dataSource: DataSource,
  ) {}

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
  constructor(
    name: string,
    dataSource: DataSource,
    readonly returnsOld: boolean,
  ) {
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

/** A PostgreSQL node as the replication layer holds it (the API shows it as the GraphQL type ClusterNode). */
export type PgNode = LeaderNode | FollowerNode;
