import type { Logger } from '../logger';
import type { ClusterNode, LeaderNode } from './cluster-node';
import { GID_PREFIX, GidSource } from './gid';
import { describeFailure, literal, withClient } from './sql';

export interface InDoubtOptions {
  /** Gids of this server's writes between PREPARE and their outcome. */
  inFlight: Set<string>;
  gids: GidSource;
  /**
   * How old another instance's prepared transaction must be before it counts as abandoned.
   * A live server takes its decision within its database timeout of preparing, so a few of
   * those is safely past any write still in flight.
   */
  foreignGraceMs: number;
}

/**
 * Settles prepared transactions left behind by a crash between PREPARE and COMMIT PREPARED.
 * The leader's syncrep_log is the decision record: a gid found there is committed, a gid not
 * found there (and no longer in flight) is rolled back. Only gids with syncrep's prefix are touched.
 */
export class InDoubtResolver {
  constructor(private readonly leader: LeaderNode, private readonly options: InDoubtOptions, private readonly log: Logger) {}

  /** Settles what `node` holds; returns how many transactions were committed and rolled back. */
  async resolve(node: ClusterNode): Promise<{ committed: number; rolledBack: number }> {
    const { inFlight, gids, foreignGraceMs } = this.options;
    const prepared: { gid: string; age_ms: number }[] = await node.dataSource.query(
      `SELECT gid, (extract(epoch FROM now() - prepared) * 1000)::bigint AS age_ms
         FROM pg_prepared_xacts WHERE database = current_database() AND gid LIKE $1`,
      [`${GID_PREFIX.replace('_', '\\_')}%`],
    );
    const settled = { committed: 0, rolledBack: 0 };
    for (const { gid, age_ms } of prepared) {
      if (inFlight.has(gid)) continue;
      const ours = GidSource.instanceOf(gid) === gids.instance;
      const decided = await this.leader.dataSource.query('SELECT 1 FROM syncrep_log WHERE gid = $1', [gid]);
      if (decided.length === 0 && !ours && Number(age_ms) < foreignGraceMs) continue;
      const verb = decided.length > 0 ? 'COMMIT' : 'ROLLBACK';
      try {
        await withClient(node.pool, (client) => client.query(`${verb} PREPARED ${literal(gid)}`));
        settled[verb === 'COMMIT' ? 'committed' : 'rolledBack'] += 1;
        this.log.info({ node: node.name, gid, outcome: verb }, 'in-doubt transaction settled');
      } catch (error) {
        // Another server may have settled it first; it is gone either way.
        this.log.debug({ node: node.name, gid, failure: describeFailure(error) }, 'in-doubt transaction not settled here');
      }
    }
    return settled;
  }
}
