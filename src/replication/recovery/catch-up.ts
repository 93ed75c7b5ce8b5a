import type { Logger } from '../../logger';
import type { FollowerNode } from '../nodes/cluster-node';
import type { Cluster } from '../nodes/cluster';
import { transition } from '../nodes/transitions';
import { isDivergence, markDiverged } from './follower-marks';
import type { InDoubtResolver } from './in-doubt-resolver';
import type { MembershipGate } from '../write/membership-gate';
import { REBUILT, resync } from './resync';
import { rebuildReason } from './rebuild-reason';
import { SchemaMismatch } from '../nodes/schema-check';
import { fenceIfStale, leaderActive, leaveForRebuild, refuseOtherSchema, stillFollower } from './rejoin-checks';
import type { NodeLocks } from '../nodes/node-lock';
import { deleteExcluded, recordOnLeader } from './write-set';
import { describeFailure, row, rows } from '../sql/sql';
import type { LogReplayer } from './log-replayer';
import { forgetDeposed } from '../sql/epoch-statements';
import { clearRebuildingMark, divergenceMark, type MarkKind } from '../sql/mark-statements';
import { trimPoint, watermark as watermarkOf } from '../sql/trim-statements';

/** Whether this server leaves `follower` out of live writes while it catches up. */
function excludedFrom(follower: FollowerNode): boolean {
  const { state } = follower;
  return state.kind === 'NEEDS_RESYNC' || (state.kind === 'CATCHING_UP' && !state.takesWrites);
}

/** A follower's mark on its own node (syncrep_divergence), as read at the start of a rejoin. */
type NodeMark = { kind: MarkKind; reason: string };

/** What a rejoin found before changing anything. */
type Assessment =
  | { kind: 'marked-diverged'; reason: string }
  /** `rebuild`: why a rebuild is due first (undefined: catch-up only). */
  | { kind: 'rejoin'; mark: NodeMark | undefined; rebuild: string | undefined };

/** Options of one rejoin. */
export interface RejoinOptions {
  /** Rebuild the follower from a snapshot of the leader first, whatever its state (resyncNode). */
  rebuild?: boolean;
  /** How long to wait for the node's lock (an operator's resyncNode, a startup) before leaving the rejoin to a later round. */
  lockWaitMs?: number;
  /** Called once the node's lock is held: from then on this rejoin alone changes the follower. */
  onLocked?: () => void;
}

/**
 * Brings a follower that missed writes back into the synchronous set.
 * Positions are taken before commit, so writes can commit out of position order: catch-up does
 * not trust "everything up to the highest applied position"; it compares every position in the
 * leader's log above the follower's watermark with the follower's own record of applied
 * positions, and replays each one missing, in position order, in batches. Writes go on meanwhile;
 * the last entries are replayed with the membership gate held, so the follower joins without
 * missing or repeating a write. A follower below the log's trim point is first rebuilt.
 */
export class CatchUp {
  constructor(
    private readonly cluster: Cluster,
    private readonly gate: MembershipGate,
    private readonly inDoubt: InDoubtResolver,
    private readonly locks: NodeLocks,
    private readonly replayer: LogReplayer,
    private readonly log: Logger,
  ) {}

  /**
   * Settles in-doubt transactions, rebuilds the follower when it needs it (or `options.rebuild`
   * asks), replays what it lacks, and makes it IN_SYNC. A replay refused as diverged (SR001) makes
   * it DIVERGED: catch-up applies in position order, so the follower holds rows the leader did not.
   * Runs under the follower's node lock: another server repairing it makes this rejoin fail at
   * once with NodeBusyError, to be retried on a later round.
   */
  async rejoin(follower: FollowerNode, options: RejoinOptions = {}): Promise<void> {
    stillFollower(this.cluster, follower);
    let locked = false;
    const work = (held: () => Promise<void>) => {
      locked = true;
      options.onLocked?.();
      return this.rejoinLocked(follower, options, held);
    };
    try {
      await this.locks.exclusively(follower, 'catch-up', work, options.lockWaitMs ?? 0);
    } catch (error) {
      // Another actor repairs it, or it could not be reached to lock: not known to be in sync here
      // until a rejoin of this server's says so (a failure inside the rejoin has set its state).
      if (!locked) transition(follower, { kind: 'catch-up-failed', reason: `catch-up failed: ${describeFailure(error)}` }, this.log);
      throw error;
    }
  }

  private async rejoinLocked(follower: FollowerNode, options: RejoinOptions, held: () => Promise<void>): Promise<void> {
    const from = follower.state;
    if (from.kind === 'DIVERGED' && !options.rebuild)
      throw new Error(`${follower.name} has diverged: only a rebuild (resyncNode) brings it back`);
    let rebuilt = false;
    try {
      const found = await this.assess(follower, options);
      if (found.kind === 'marked-diverged') return await markDiverged(this.cluster, follower, found.reason, this.log);
      if (found.rebuild !== undefined) {
        await this.rebuild(follower, found.rebuild);
        rebuilt = true;
      }
      const replayed = await this.catchUp(follower, found.mark, rebuilt, held);
      this.log.info({ node: follower.name, from: from.kind, rebuilt, replayed }, 'follower rejoined');
    } catch (error) {
      await this.failed(follower, from, rebuilt, error);
      throw error;
    }
  }

  /**
   * What the node itself says of it, checked before anything is changed: marked diverged (it
   * stays out until a rebuild clears the mark), or which rebuild is due, if any. The leader must
   * lead actively, the follower's tables must be the leader's, a stale one is fenced, and its
   * in-doubt transactions are settled first.
   */
  private async assess(follower: FollowerNode, options: RejoinOptions): Promise<Assessment> {
    // Marked diverged on the node itself (by this server before a restart, or by another).
    const [mark] = await rows(follower.pool, divergenceMark());
    if (mark?.kind === 'diverged' && !options.rebuild)
      return { kind: 'marked-diverged', reason: `marked diverged on the node: ${mark.reason}` };
    await leaderActive(this.cluster);
    await refuseOtherSchema({ cluster: this.cluster, gate: this.gate, log: this.log }, follower);
    const stale = await fenceIfStale(this.cluster, follower);
    await this.inDoubt.resolve(follower, true);
    const { upto: watermark } = await row(follower.pool, watermarkOf());
    const { upto: trimmed } = await row(this.cluster.leader.pool, trimPoint());
    follower.watermark = BigInt(watermark);
    // What says a rebuild is due is on the node itself (its mark, its epoch, its watermark), not
    // this server's memory: another server may have rebuilt it meanwhile, and a second rebuild
    // would replace rows that server has written since with an older snapshot. A mark left by a
    // rebuild that finished means only catch-up is left to do.
    const rebuild = rebuildReason({
      requested: options.rebuild === true,
      behindLog: follower.watermark < BigInt(trimmed) ? { watermark, trimmed } : undefined,
      stale,
      interrupted: mark?.kind === 'rebuilding' && mark.reason !== REBUILT ? mark.reason : undefined,
    });
    return { kind: 'rejoin', mark, rebuild };
  }

  /** Rebuilds the follower from a snapshot of the leader, for `reason`. */
  private async rebuild(follower: FollowerNode, reason: string): Promise<void> {
    await leaveForRebuild({ cluster: this.cluster, gate: this.gate, log: this.log }, follower, reason, 'rebuild-started');
    await resync(this.cluster, follower, this.log);
  }

  /** Replays what the follower lacks, then the last entries with commits held back; IN_SYNC. Returns the positions replayed. */
  private async catchUp(follower: FollowerNode, mark: NodeMark | undefined, rebuilt: boolean, held: () => Promise<void>): Promise<number> {
    // Marked as lacking writes (rebuilt now or before, or found behind): it takes no live write
    // until it has replayed every earlier one, and every server's writes leave it out meanwhile.
    const excluded = rebuilt || mark?.kind === 'rebuilding' || mark?.kind === 'behind';
    if (excluded && !rebuilt)
      await recordOnLeader(this.cluster.leader.pool, follower.name, this.cluster.epoch, `marked ${mark?.kind}: ${mark?.reason}`);
    transition(follower, { kind: 'catch-up-started', takesWrites: !excluded }, this.log);
    const replayed = await this.replayer.chase(follower);
    const last = await this.gate.exclusive(async () => {
      stillFollower(this.cluster, follower);
      // Still the one actor on it: a lock session lost (a node restart, a promotion's barrier)
      // may have let another one start.
      await held();
      // Back in the write set first: deleting the leader's record waits for every commit (of any
      // server) that left it out, and makes every later one fail; the replay then has them all.
      // Deleted whether or not this rejoin left it out: a record left by anyone else would let a
      // server that still leaves it out commit without it once it serves again.
      await rows(this.cluster.leader.pool, deleteExcluded(follower.name));
      // From a snapshot taken after the delete: in sync mode all it holds every write that left
      // the follower out; a quorum commit of another server may still leave it out later (and
      // record it again, so that it is caught up on a later round).
      const n = await this.replayer.replay(follower);
      if (follower.state.kind !== 'CATCHING_UP') throw new Error(`it became ${follower.state.kind} while catching up`);
      // It lacks nothing and takes every write from here on: fit to be promoted again.
      await rows(follower.pool, clearRebuildingMark());
      if (rebuilt) await this.forgetDeposed(follower);
      // Refused when something else happened to it meanwhile (a failed write made it DOWN, say).
      if (!transition(follower, { kind: 'caught-up' }, this.log)) throw new Error(`it became ${follower.state.kind} while catching up`);
      return n;
    });
    return replayed + last;
  }

  /** What a failed rejoin leaves the follower as: diverged when a replay was refused as such, or still so; otherwise failed, to be retried. */
  private async failed(follower: FollowerNode, from: FollowerNode['state'], rebuilt: boolean, error: unknown): Promise<void> {
    // Already left out and named (its state and lastError say which table and column).
    if (error instanceof SchemaMismatch) return;
    const failure = describeFailure(error);
    if (excludedFrom(follower)) await this.restoreExclusion(follower);
    if (isDivergence(error)) {
      await markDiverged(this.cluster, follower, `catch-up replay refused: ${failure}`, this.log);
    } else if (from.kind === 'DIVERGED' && !rebuilt) {
      // Its tables were not replaced (the rebuild is one transaction): it is still diverged.
      await markDiverged(this.cluster, follower, `${from.reason}; rebuild failed (${failure}), run resyncNode again`, this.log);
    } else {
      // A follower NEEDS_RESYNC or DOWN stays so: the monitor retries the rebuild, or the rejoin once it answers.
      transition(follower, { kind: 'catch-up-failed', reason: `catch-up failed: ${failure}` }, this.log);
    }
  }

  /**
   * A rejoin that failed after its last step deleted the leader's record, while the follower is
   * still marked: the record goes back, or every write would be refused (SR005 leaving it out,
   * SR004 sending it live writes) until the next rejoin.
   */
  private async restoreExclusion(follower: FollowerNode): Promise<void> {
    try {
      const [mark] = await rows(follower.pool, divergenceMark());
      if (mark) await recordOnLeader(this.cluster.leader.pool, follower.name, this.cluster.epoch, `marked ${mark.kind}: ${mark.reason}`);
    } catch {
      // The monitor's next rejoin records it again.
    }
  }

  /** Records on every node that a rebuilt follower (a deposed leader, say) has rejoined: see Leadership.deposed. */
  private async forgetDeposed(follower: FollowerNode): Promise<void> {
    await Promise.all(this.cluster.nodes.map((node) => rows(node.pool, forgetDeposed(follower.name)).catch(() => undefined)));
  }
}
