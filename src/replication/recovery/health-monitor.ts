import type { Logger } from '../../logger';
import type { FollowerNode, PgNode } from '../nodes/cluster-node';
import { transition } from '../nodes/transitions';
import type { CatchUp } from './catch-up';
import { monitorRejoins } from '../nodes/node-state';
import type { Cluster } from '../nodes/cluster';
import type { InDoubtResolver } from './in-doubt-resolver';
import { describeFailure, row } from '../sql/sql';
import { healthCheck } from '../sql/mark-statements';
import { markOut } from './follower-marks';
import { NodeBusyError, type NodeLocks } from '../nodes/node-lock';
import type { MarkKind } from '../sql/mark-statements';
import { measureLags, recordProgress } from './progress-meter';
import { withDeadline } from '../nodes/answer-deadline';

export interface HealthMonitorOptions {
  intervalMs: number;
  timeoutMs: number;
  /** Housekeeping after each round's checks while the leader is up (trimming the log). */
  afterRound?: () => Promise<void>;
  /** After every round, whatever the leader's state (automatic failover). */
  everyRound?: () => void;
  /**
   * A node recorded a newer epoch than this server's: a promotion this server did not run moved
   * the leader. The callback follows it.
   */
  newerEpoch?: (epoch: bigint, leader: string) => Promise<void>;
}

/**
 * Checks every node at an interval. A node that does not answer within the timeout is DOWN
 * (a follower stops serving reads); a follower that answers again, or that is out of sync,
 * is handed to the rejoiner, which replays what it missed before it serves or votes again.
 * Each round also settles prepared transactions that a crashed server left on a healthy node.
 */
export class HealthMonitor {
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;
  /** Housekeeping under way: it runs beside the checks, never holding a round up. */
  private housekeeping: Promise<void> | undefined;
  /** Rejoins in progress (waiting for the node's lock, or holding it), by follower name. */
  private readonly rejoining = new Map<string, Promise<void>>();
  /**
   * Followers a rejoin of this server holds the lock of: what the node says of them (a mark) is
   * then that rejoin's own doing. One still waiting for the lock is not among them: another actor
   * is changing the node meanwhile, and its marks must take the follower out of service here.
   */
  private readonly repairing = new Set<string>();

  constructor(
    private readonly cluster: Cluster,
    private readonly rejoiner: CatchUp,
    private readonly inDoubt: InDoubtResolver,
    private readonly locks: NodeLocks,
    private readonly options: HealthMonitorOptions,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.checkRound(), this.options.intervalMs);
    this.timer.unref();
  }

  /** One round of checks; rounds never overlap. */
  private checkRound(): Promise<void> {
    this.checking ??= this.round().finally(() => (this.checking = undefined));
    return this.checking;
  }

  /**
   * Rebuilds `follower` from the leader and brings it back into the synchronous set (resyncNode).
   * Goes through the same `rejoining` map as the monitor's own rejoins, so the two never run on
   * one follower at once: a rejoin under way is waited for first, and the monitor starts none
   * while this one runs. Rejects with the rebuild's failure.
   */
  async resync(follower: FollowerNode): Promise<void> {
    for (let running = this.rejoining.get(follower.name); running; running = this.rejoining.get(follower.name)) await running;
    const work = this.rejoiner.rejoin(follower, { rebuild: true, lockWaitMs: this.locks.waitMs, onLocked: this.repairs(follower) });
    // The map holds a promise that never rejects (as the monitor's own entries); the caller gets the failure.
    const entry = work.then(
      () => undefined,
      () => undefined,
    );
    this.rejoining.set(follower.name, entry);
    void entry.finally(() => {
      if (this.rejoining.get(follower.name) !== entry) return;
      this.rejoining.delete(follower.name);
      this.repairing.delete(follower.name);
    });
    await work;
  }

  /** Stops checking and waits for the round and the rejoins under way (each bounded by the database timeout). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.checking;
    await this.housekeeping;
    await Promise.all(this.rejoining.values());
  }

  private async round(): Promise<void> {
    const started = new Date();
    const recorded = (await Promise.all(this.cluster.nodes.map((node) => this.check(node)))).find((r) => r !== undefined);
    if (recorded) this.leaveOutRecorded(recorded);
    // Lags are measured here, not when `nodes` asks: a paused leader must not hold up the answer.
    await withDeadline(measureLags(this.cluster, started), this.options.timeoutMs, 'lag measure timeout').catch(() => undefined);
    if (this.cluster.leader.state.kind === 'UP') {
      // Not awaited: a trim that meets a leader hanging (SIGSTOP) waits up to DB_TIMEOUT_MS, and the
      // next rounds must still see the leader go DOWN. One at a time, like the rounds.
      this.housekeeping ??= (this.options.afterRound?.() ?? Promise.resolve())
        .catch((error) => this.log.warn({ failure: describeFailure(error) }, 'housekeeping failed'))
        .finally(() => (this.housekeeping = undefined));
    }
    this.options.everyRound?.();
  }

  /**
   * Followers the leader records as left out of writes (by this server or another: a quorum write
   * committed without them, a repair under way) serve no reads here from this round on, and are
   * caught up before they do; one a rejoin of this server holds is left to that rejoin.
   */
  private leaveOutRecorded(recorded: readonly string[]): void {
    for (const follower of this.cluster.followers) {
      if (!recorded.includes(follower.name) || this.repairing.has(follower.name)) continue;
      const { state } = follower;
      if (state.kind === 'IN_SYNC' || state.kind === 'OUT_OF_SYNC' || (state.kind === 'CATCHING_UP' && state.takesWrites))
        transition(follower, { kind: 'marked', reason: 'recorded on the leader as left out of writes' }, this.log);
    }
  }

  /** Checks one node; for the leader, returns whom it records as left out of this epoch's writes. */
  private async check(node: PgNode): Promise<readonly string[] | undefined> {
    let mark: { kind: MarkKind; reason: string } | undefined;
    let excluded: string[];
    try {
      await this.cluster.connect(node, this.log);
      const found = await withDeadline(row(node.healthPool, healthCheck()), this.options.timeoutMs, 'health check timeout');
      const { epoch, leader, position } = found;
      excluded = BigInt(epoch) === this.cluster.epoch ? found.excluded : [];
      mark = !found.markKind ? undefined : { kind: found.markKind, reason: found.markReason ?? '' };
      // A promotion moved the roles while this check ran: this object is not the node's any more.
      if (!this.cluster.nodes.includes(node)) return;
      node.lastContact = new Date();
      recordProgress(node, position);
      node.recordedEpoch = BigInt(epoch);
      if (node.recordedEpoch > this.cluster.epoch && leader !== null) {
        await this.options.newerEpoch?.(node.recordedEpoch, leader);
        return;
      }
    } catch (error) {
      if (this.cluster.nodes.includes(node)) transition(node, { kind: 'unreachable', reason: describeFailure(error) }, this.log);
      return;
    }
    if (node.role === 'LEADER') {
      transition(node, { kind: 'reachable' }, this.log);
      await this.inDoubt.resolve(node).catch(() => undefined);
      return excluded;
    }
    // Marked diverged on the node (by another server, say): out of service here too. A follower
    // being rebuilt is left alone: its rebuild clears the mark.
    if (mark?.kind === 'diverged' && node.state.kind !== 'DIVERGED' && node.state.kind !== 'NEEDS_RESYNC') {
      await markOut({ cluster: this.cluster, locks: this.locks, log: this.log }, node, `marked diverged on the node: ${mark.reason}`);
    } else if (mark && !this.repairing.has(node.name)) {
      // Being repaired, or found behind, by another server (or by this one before a restart): it
      // serves no reads and takes no live writes here either until its repair has put it back.
      transition(node, { kind: 'marked', reason: `marked ${mark.kind} on the node: ${mark.reason}` }, this.log);
    }
    if (node.state.kind === 'IN_SYNC' || node.state.kind === 'DIVERGED') await this.inDoubt.resolve(node).catch(() => undefined);
    if (monitorRejoins(node.state) && !this.rejoining.has(node.name)) {
      const rejoin = this.rejoiner
        .rejoin(node, { onLocked: this.repairs(node) })
        .catch((error) => {
          // Another server repairing it is expected, and said once by the state it leaves the node in.
          if (error instanceof NodeBusyError) this.log.debug({ node: node.name }, 'rejoin waits: another actor holds the node');
          else this.log.warn({ node: node.name, failure: describeFailure(error), err: error }, 'rejoin failed; retrying');
        })
        .finally(() => {
          this.rejoining.delete(node.name);
          this.repairing.delete(node.name);
        });
      this.rejoining.set(node.name, rejoin);
    }
  }

  /** For a rejoin's `onLocked`: the follower counts as repaired by this server until the rejoin ends. */
  private repairs(follower: FollowerNode): () => void {
    return () => this.repairing.add(follower.name);
  }
}
