import type { Logger } from '../logger';
import type { ClusterNode, LeaderNode } from './cluster-node';
import { GID_PREFIX, GidSource } from './gid';
import type { InstanceLiveness } from './instance-liveness';
import { describeFailure, literal, withClient } from './sql';

export interface InDoubtOptions {
  /** Gids of this server's writes between PREPARE and their outcome. */
  inFlight: Set<string>;
  gids: GidSource;
  /** Tells a live server instance (whose prepared transactions may be in flight) from a dead one. */
  liveness: InstanceLiveness;
}

/**
 * Settles prepared transactions left behind by a crash between PREPARE and COMMIT PREPARED.
 * The leader's syncrep_log is the decision record: a gid found there is committed, a gid not
 * found there is rolled back once no live server can still decide it: one of ours not in flight, or
 * one of a server instance that no longer holds its liveness lock. Only syncrep's gids are touched.
 */
export class InDoubtResolver {
  constructor(private readonly leader: LeaderNode, private readonly options: InDoubtOptions, private readonly log: Logger) {}

  /** Settles the prepared transactions `node` holds that no live server can still decide. */
  async resolve(node: ClusterNode): Promise<void> {
    const { inFlight, gids, liveness } = this.options;
    const prepared: { gid: string }[] = await node.dataSource.query(
      'SELECT gid FROM pg_prepared_xacts WHERE database = current_database() AND gid LIKE $1',
      [`${GID_PREFIX.replace('_', '\\_')}%`],
    );
    for (const { gid } of prepared) {
      if (inFlight.has(gid)) continue;
      const instance = GidSource.instanceOf(gid);
      if (!instance || (instance !== gids.instance && (await liveness.isAlive(instance)))) continue;
      const decided = await this.leader.dataSource.query('SELECT 1 FROM syncrep_log WHERE gid = $1', [gid]);
      const verb = decided.length > 0 ? 'COMMIT' : 'ROLLBACK';
      try {
        await withClient(node.pool, (client) => client.query(`${verb} PREPARED ${literal(gid)}`));
        this.log.info({ node: node.name, gid, outcome: verb }, 'in-doubt transaction settled');
      } catch (error) {
        // Another server may have settled it first; it is gone either way.
        this.log.debug({ node: node.name, gid, failure: describeFailure(error) }, 'in-doubt transaction not settled here');
      }
    }
  }
}
