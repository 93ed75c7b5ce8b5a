import type { Logger } from '../../logger';
import type { PgNode } from '../nodes/cluster-node';
import { GID_PREFIX, GidSource } from '../write/gid';
import { describeFailure, isServerError, literal, rows, withClient } from '../sql/sql';
import { committedAmong } from '../sql/epoch-statements';
import { allPreparedGids } from '../sql/instance-statements';
import { SqlState } from '../../errors/sqlstate';
import { epochOf } from './epoch';

/** Rounds of the fixpoint before giving up (each round settles every gid it finds, or meets a race). */
const MAX_ROUNDS = 20;

/** What settling did. */
export interface Settled {
  committed: number;
  rolledBack: number;
}

/**
 * Settles every prepared transaction of an epoch before `epoch` on the `reached` nodes, by one
 * rule: COMMIT PREPARED where some reached node has that position committed, otherwise ROLLBACK
 * PREPARED. An acknowledged write is committed on enough followers that the reached set holds it
 * (promotion-rules.ts), so it is never rolled back; only writes no client was told succeeded are.
 * A deposed server may still COMMIT PREPARED a gid meanwhile (that verb checks no epoch): the
 * ROLLBACK then fails as the gid is gone, and the next round reads the committed sets again and
 * commits it everywhere. Rounds repeat until no reached node holds such a gid; they end, as the
 * fence refuses new prepares of the old epoch and committed sets only grow.
 */
export async function settlePrepared(reached: readonly PgNode[], epoch: bigint, log: Logger): Promise<Settled> {
  const settled: Settled = { committed: 0, rolledBack: 0 };
  for (let round = 1; round <= MAX_ROUNDS; round++) {
    const found = await Promise.all(reached.map(async (node) => ({ node, gids: await oldGids(node, epoch) })));
    const positions = [...new Set(found.flatMap((f) => f.gids.map((g) => g.position)))];
    if (positions.length === 0) return settled;
    const committed = new Set<string>();
    for (const node of reached) for (const { p } of await rows(node.pool, committedAmong(positions))) committed.add(p);
    for (const { node, gids } of found) {
      for (const { gid, position } of gids) {
        const verb = committed.has(position) ? 'COMMIT' : 'ROLLBACK';
        try {
          await withClient(node.pool, (client) => client.query(`${verb} PREPARED ${literal(gid)}`));
          if (verb === 'COMMIT') settled.committed += 1;
          else settled.rolledBack += 1;
          log.info({ node: node.name, gid, outcome: verb }, 'promotion settled a prepared transaction');
        } catch (error) {
          // Gone: settled meanwhile (a deposed server's COMMIT PREPARED); the next round re-reads.
          if (!(isServerError(error) && error.code === SqlState.UndefinedObject)) throw error;
          log.info(
            { node: node.name, gid, failure: describeFailure(error) },
            'prepared transaction settled by someone else; reading again',
          );
        }
      }
    }
  }
  throw new Error(`prepared transactions of epochs before ${epoch} were still appearing after ${MAX_ROUNDS} rounds`);
}

async function oldGids(node: PgNode, epoch: bigint): Promise<{ gid: string; position: string }[]> {
  const found = await rows(node.pool, allPreparedGids(GID_PREFIX));
  return found.flatMap(({ gid }) => {
    const position = GidSource.positionOf(gid);
    return position !== undefined && epochOf(position) < epoch ? [{ gid, position: position.toString() }] : [];
  });
}
