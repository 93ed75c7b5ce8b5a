import type { Logger } from '../../logger';
import type { FollowerNode } from '../nodes/cluster-node';
import { transition } from '../nodes/transitions';
import { applyOn, type ApplyScript } from '../sql/apply-sql';
import { describeFailure, isServerError, literal, publicFailure, rows, withClient, withRollback } from '../sql/sql';
import { isApplied } from '../sql/log-statements';
import { SqlState } from '../../errors/sqlstate';

/** A follower's answer to step 2: prepared, or why not. */
export interface Prepared {
  node: FollowerNode;
  /** What went wrong, for operators (lastError, the log). */
  failure?: string;
  /** The same, in words a client may see (publicFailure). */
  publicFailure?: string;
  /** SQLSTATE of a failure the follower's server reported (SR001: its rows differ from the leader's). */
  sqlState?: string;
  /** The follower's state kind when the write was sent to it. */
  stateBefore: FollowerNode['state']['kind'];
}

/** Steps 2 and 4 of the write path, and the undo of step 2, on one follower each. */
export class FollowerOps {
  constructor(private readonly log: Logger) {}

  /** Step 2 in one round trip: BEGIN; `apply` (from applySql); PREPARE TRANSACTION. */
  async prepare(node: FollowerNode, gid: string, apply: ApplyScript): Promise<Prepared> {
    const stateBefore = node.state.kind;
    try {
      await withRollback(node.pool, (client) => applyOn(client, apply, `PREPARE TRANSACTION ${literal(gid)}`));
      node.lastContact = new Date();
      return { node, stateBefore };
    } catch (error) {
      const failure = describeFailure(error);
      if (isServerError(error)) node.noteError(failure);
      else transition(node, { kind: 'unreachable', reason: failure }, this.log);
      return { node, failure, publicFailure: publicFailure(error), stateBefore, sqlState: isServerError(error) ? error.code : undefined };
    }
  }

  /** Undoes a PREPARE that may or may not have happened; what cannot be reached is left to the in-doubt resolver. */
  async rollbackPrepared(node: FollowerNode, gid: string): Promise<void> {
    await withClient(node.pool, (client) => client.query(`ROLLBACK PREPARED ${literal(gid)}`)).catch((error) => {
      if (!(isServerError(error) && error.code === SqlState.UndefinedObject)) {
        this.log.warn({ node: node.name, gid, failure: describeFailure(error) }, 'ROLLBACK PREPARED failed; left to recovery');
      }
    });
  }

  /** Step 4. A follower that misses it still holds the write prepared; it stops serving reads until resolved. */
  async commitPrepared(node: FollowerNode, gid: string, position: bigint): Promise<boolean> {
    try {
      await withClient(node.pool, async (client) => {
        try {
          await client.query(`COMMIT PREPARED ${literal(gid)}`);
        } catch (error) {
          // Gone already: another server's in-doubt resolver may have committed it from the log.
          if (!(isServerError(error) && error.code === SqlState.UndefinedObject)) throw error;
          if ((await rows(client, isApplied(position))).length === 0) throw error;
        }
      });
      if (position > node.appliedPosition) node.appliedPosition = position;
      return true;
    } catch (error) {
      transition(
        node,
        { kind: 'missed-write', reason: `COMMIT PREPARED of position ${position} failed: ${describeFailure(error)}` },
        this.log,
      );
      return false;
    }
  }
}
