import type { PoolClient } from 'pg';
import type { PgNode } from '../nodes/cluster-node';
import type { MembershipGate } from '../write/membership-gate';
import { describeFailure, isServerError } from '../sql/sql';

/**
 * One REPEATABLE READ READ ONLY transaction per node, whose snapshots were all taken at one
 * consistent point: while this process's membership gate was held exclusively, that is, with no
 * distributed commit of ours in flight (their followers' COMMIT PREPARED included) and new ones
 * held back. Every node then holds the same committed writes of this process, so their snapshots
 * must hold the same rows. The gate is held only for one `SELECT 1` per node, in parallel: the
 * checksums run afterwards inside the snapshots while writes go on.
 */
export class ConsistentPoint {
  /** Nodes that could not take part, and why. */
  readonly failed = new Map<PgNode, string>();
  private readonly clients = new Map<PgNode, PoolClient>();
  private readonly broken = new Set<PgNode>();
  /** How long new commits were held back for this point, in ms (waiting for those in flight included). */
  heldMs = 0;

  private constructor() {}

  /** Opens the transactions, then takes their snapshots together under the gate. */
  static async open(nodes: readonly PgNode[], gate: MembershipGate): Promise<ConsistentPoint> {
    const point = new ConsistentPoint();
    // Connecting and BEGIN take no snapshot (the first query does), so they happen outside the gate.
    // Opened by hand, not with inTransaction: these transactions stay open across the gate and the
    // checks that follow, and end together in close().
    await Promise.all(
      nodes.map(async (node) => {
        try {
          const client = await node.pool.connect();
          point.clients.set(node, client);
          await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        } catch (error) {
          point.fail(node, error);
        }
      }),
    );
    const asked = performance.now();
    await gate.exclusive(() => point.each(async (_node, client) => void (await client.query('SELECT 1'))));
    point.heldMs = performance.now() - asked;
    return point;
  }

  /** Whether `node` is still taking part. */
  has(node: PgNode): boolean {
    return this.clients.has(node) && !this.failed.has(node);
  }

  /**
   * Runs `work` inside every node's snapshot, in parallel; a node whose work fails drops out
   * (into `failed`) and is missing from the result.
   */
  async each<T>(work: (node: PgNode, client: PoolClient) => Promise<T>): Promise<Map<PgNode, T>> {
    const results = new Map<PgNode, T>();
    await Promise.all(
      [...this.clients].map(async ([node, client]) => {
        if (this.failed.has(node)) return;
        try {
          results.set(node, await work(node, client));
        } catch (error) {
          this.fail(node, error);
        }
      }),
    );
    return results;
  }

  /** Ends every transaction and hands the connections back (a broken one is destroyed). */
  async close(): Promise<void> {
    await Promise.all(
      [...this.clients].map(async ([node, client]) => {
        if (!this.broken.has(node)) await client.query('COMMIT').catch((error) => this.fail(node, error));
        client.release(this.broken.has(node) ? new Error('connection failed during a consistency check') : undefined);
      }),
    );
    this.clients.clear();
  }

  private fail(node: PgNode, error: unknown): void {
    if (!this.failed.has(node)) this.failed.set(node, describeFailure(error));
    if (!isServerError(error)) this.broken.add(node);
  }
}
