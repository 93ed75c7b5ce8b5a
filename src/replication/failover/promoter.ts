import type { GraphQLError } from 'graphql';
import type { SyncMode } from '../../config/settings';
import type { FaultHooks } from '../../lifecycle/fault-hooks';
import { badInput, ErrorCode, userError } from '../../errors/error-code';
import type { Logger } from '../../logger';
import type { Cluster } from '../nodes/cluster';
import type { MembershipGate } from '../write/membership-gate';
import { inTransaction, rows } from '../sql/sql';
import { activateEpoch, startEpochPositions } from '../sql/epoch-statements';
import { clearDivergenceMark } from '../sql/mark-statements';
import { fenceSessions } from './barrier';
import { claimNodes } from './claim';
import { switchRoles } from './role-switch';
import { highest } from './epoch';
import { probeAll } from './probe';
import { promotionThreshold, unsafeReasons, type NodeProbe } from './promotion-rules';
import { settlePrepared } from './settle';
import { adoptUnion } from './union';
import { recordOnLeader } from '../recovery/write-set';
import type { NodeLocks } from '../nodes/node-lock';
import { notBeingPromoted, promotingAlone } from './promotion-lock';
import { promotionResult, type PromotionDone, type PromotionResult } from './promotion-result';

export type { PromotionResult } from './promotion-result';

export interface PromoterDeps {
  cluster: Cluster;
  gate: MembershipGate;
  mode: SyncMode;
  /** This server's application_name: the barrier ends every other syncrep session on a claimed node. */
  applicationName: string;
  timeoutMs: number;
  locks: NodeLocks;
  log: Logger;
  /** Where the fault tests stop the server (NO_FAULTS in production). */
  faults: FaultHooks;
  /** Told of each finished promotion (metrics, events). */
  promoted?: (result: PromotionResult) => void;
}

/**
 * Promotes a follower to leader without losing an acknowledged write (README, "Leader failover"):
 * probe every node; refuse when the reachable ones cannot prove the candidate would hold every
 * acknowledged write (promotion-rules.ts) unless allowDataLoss; claim every reachable node for
 * the next epoch (the old leader first: its claim waits for its decisions in flight and fences it);
 * end other servers' sessions (barrier.ts); settle prepared transactions (settle.ts); make the
 * candidate hold the union of what the reached nodes committed (union.ts); activate it; move the
 * roles. Every step is a compare-and-set or a read, so a promotion killed at any point and run
 * again converges; writes of this server wait at the membership gate meanwhile.
 */
export class Promoter {
  private running: Promise<unknown> | undefined;

  constructor(private readonly deps: PromoterDeps) {}

  /** Runs one promotion at a time. Rejects with a GraphQLError (BAD_USER_INPUT, NODE_UNAVAILABLE, PROMOTION_UNSAFE). */
  async promote(name: string, allowDataLoss: boolean, automatic = false): Promise<PromotionResult> {
    while (this.running) await this.running.catch(() => undefined);
    const candidate = this.deps.cluster.byName(name);
    const work = (locked: ReadonlySet<string> = new Set()) => this.run(name, allowDataLoss, automatic, locked);
    const run = this.deps.gate.exclusive(() =>
      candidate && candidate.role !== 'LEADER' ? promotingAlone(this.deps.locks, candidate, this.deps.cluster.followers, work) : work(),
    );
    this.running = run;
    try {
      return await run;
    } finally {
      if (this.running === run) this.running = undefined;
    }
  }

  /**
   * Follows a promotion another server ran (a node recorded `epoch`, newer than this server's):
   * `leader` leads from now on, the deposed one is rebuilt, and every follower catches up from the
   * new leader (one the promotion did not reach is rebuilt: catch-up finds it at an older epoch).
   */
  async follow(epoch: bigint, leader: string): Promise<void> {
    while (this.running) await this.running.catch(() => undefined);
    const { cluster, gate, log } = this.deps;
    await gate.exclusive(async () => {
      if (epoch <= cluster.epoch) return;
      if (!cluster.byName(leader)) {
        log.error(
          { epoch: epoch.toString(), leader },
          'the nodes name a leader this server was not configured with: add it to REPLICATION_NODES',
        );
        return;
      }
      const previous = cluster.leader.name;
      log.warn({ epoch: epoch.toString(), leader, previous }, 'a promotion run elsewhere moved the leader: following it');
      // Reached or not is unknown here: each follower's catch-up finds out (an older epoch means a rebuild).
      const reached = cluster.followers.map((f) => f.name).filter((n) => n !== previous);
      switchRoles(cluster, { leader, epoch, previous, reached, note: 'promoted elsewhere' }, log);
    });
  }

  /** `locked`: the followers whose promotion lock this run holds (no other server can be promoting them). */
  private async run(name: string, allowDataLoss: boolean, automatic: boolean, locked: ReadonlySet<string>): Promise<PromotionResult> {
    const started = Date.now();
    const { cluster, mode, log } = this.deps;
    const target = cluster.byName(name);
    if (!target)
      throw badInput('node', `there is no node named "${name}"; name a follower (${cluster.followers.map((f) => f.name).join(', ')})`);
    const probes = await probeAll(cluster.nodes, this.deps.timeoutMs);
    const candidate = probes.find((p) => p.name === name)!;
    if (!candidate.reachable) {
      throw userError(ErrorCode.NodeUnavailable, `node "${name}" is not reachable: only a reachable follower can be promoted`, {
        node: name,
      });
    }
    const record = highest(
      probes.filter((p) => p.reachable).map((p) => ({ epoch: String(p.epoch), leader: p.leader ?? null, state: p.state! })),
    );
    const recorded = probes.find((p) => p.reachable && String(p.epoch) === record.epoch && p.leader === record.leader)!;
    const epoch = BigInt(record.epoch);
    if (record.leader === name && record.state === 'active') {
      if (cluster.leader.name === name && cluster.epoch === epoch)
        throw badInput('node', `"${name}" is the leader already (epoch ${epoch}); name a follower`);
      // Promoted already, by a run that died before it answered or by another server: follow it.
      return this.finish(name, epoch, recorded.previous ?? name, probes, started, false);
    }
    // AUTO_FAILOVER: any node at an epoch above this server's means another server has promoted,
    // or is promoting, since the loss this server saw; it follows that one at its next health round
    // rather than promote a second time (an operator's promote may still move the leader again).
    if (automatic && epoch > cluster.epoch && record.leader !== name) {
      throw userError(
        ErrorCode.PromotionUnsafe,
        `another server has promoted ${record.leader} (epoch ${epoch}, ${record.state}) since this server saw the leader go: following it`,
        { node: name },
      );
    }
    // Another server promoted already (this one has not followed yet): one promotion per leader
    // loss. Promoting again from a stale view would depose a leader that is serving.
    const newLeader = probes.find((p) => p.name === record.leader);
    if (epoch > cluster.epoch && record.state === 'active' && record.leader !== name && newLeader?.reachable) {
      throw userError(
        ErrorCode.PromotionUnsafe,
        `${record.leader} already leads epoch ${epoch} (promoted through another server); this server follows it at its next health round. Run nodes, then promote again if you still want to move the leader`,
        { node: name },
      );
    }
    // A promotion of another node under way (its promoter holds that node's promotion lock) is not
    // superseded: only one left unfinished by a promoter that is gone is.
    const promoting = record.state === 'promoting' && record.leader && record.leader !== name ? cluster.byName(record.leader) : undefined;
    if (promoting) await notBeingPromoted(this.deps.locks, promoting, name, locked.has(promoting.name));
    const resuming = record.leader === name && record.state === 'promoting';
    const newEpoch = resuming ? epoch : epoch + 1n;
    // Whom this epoch deposes: recorded by the claims (a rerun finds it there), else this server's leader.
    const claimedPrevious = probes.find((p) => p.reachable && p.epoch === epoch && p.previous && p.previous !== name)?.previous;
    const previous = (resuming ? claimedPrevious : record.leader) ?? (cluster.leader.name !== name ? cluster.leader.name : '');
    if (previous === name) throw badInput('node', `"${name}" is the leader already; name a follower`);
    const followers = probes.filter((p) => p.name !== previous);
    const reasons = unsafeReasons(mode, candidate, followers, cluster.epoch);
    if (reasons.length > 0 && !allowDataLoss) {
      throw userError(
        ErrorCode.PromotionUnsafe,
        `promoting ${name} could lose acknowledged writes: ${reasons.join('; ')}. Nothing was changed. ` +
          'Bring the missing nodes back, pick another follower, or (accepting the loss) promote with allowDataLoss: true',
        { node: name },
      );
    }
    if (allowDataLoss && reasons.length > 0)
      log.error({ node: name, reasons }, 'PROMOTING WITH allowDataLoss: acknowledged writes may be lost');
    log.warn({ node: name, epoch: newEpoch.toString(), previous }, 'promotion started');

    const claimed = await claimNodes(cluster, probes, { leader: name, previous, epoch: newEpoch }, log);
    const claimedFollowers = claimed.filter((n) => n.name !== previous).length;
    if (!claimed.some((n) => n.name === name)) throw this.incomplete(name, newEpoch, `${name} did not accept it`);
    if (mode.kind === 'quorum' && claimedFollowers < promotionThreshold(mode, followers.length) && !allowDataLoss) {
      throw this.incomplete(name, newEpoch, `only ${claimedFollowers} follower(s) accepted it`);
    }
    await fenceSessions(claimed, this.deps.applicationName, this.deps.timeoutMs);
    this.deps.faults.at('promote-after-claim');
    const settled = await settlePrepared(claimed, newEpoch, log);
    this.deps.faults.at('promote-after-settle');
    const node = cluster.byName(name)!;
    const adopted = await adoptUnion(
      node,
      claimed.filter((n) => n !== node),
      { epoch: newEpoch, leader: name },
      cluster.statements,
    );
    // The new leader records whom the new epoch's writes may leave out (write-set.ts): the deposed
    // leader, every node the claims did not reach, every marked one, and every one unfit here.
    const leftOut = followers.filter(
      (p) => p.name !== name && (p.name === previous || !claimed.some((n) => n.name === p.name) || p.mark || p.unfitHere),
    );
    if (previous && !leftOut.some((p) => p.name === previous)) leftOut.push({ name: previous, reachable: false });
    await inTransaction(node.pool, async (client) => {
      await rows(client, activateEpoch(newEpoch, name));
      await rows(client, startEpochPositions(newEpoch));
      for (const p of leftOut) await recordOnLeader(client, p.name, newEpoch, `left out by the promotion to epoch ${newEpoch}`);
      // Only the mark allowDataLoss overrode: one written since the probe is left for whoever wrote it.
      if (allowDataLoss && candidate.mark) await rows(client, clearDivergenceMark());
    });
    for (const other of claimed) if (other !== node) await rows(other.pool, activateEpoch(newEpoch, name)).catch(() => undefined);
    const result = this.finish(name, newEpoch, previous, probes, started, true, {
      reached: claimed.map((n) => n.name),
      settled,
      adopted,
      allowDataLoss,
      possiblyLost: allowDataLoss ? reasons : [],
    });
    log.warn({ ...result, epoch: result.epoch.toString() }, 'promotion finished: new leader');
    return result;
  }

  private finish(
    name: string,
    epoch: bigint,
    previous: string,
    probes: NodeProbe[],
    started: number,
    changed: boolean,
    done?: PromotionDone,
  ): PromotionResult {
    const result = promotionResult({ name, epoch, previous, probes, started, changed }, done);
    if (changed) this.deps.promoted?.(result);
    const note = `was ${previous}${result.possiblyLost.length > 0 ? '; allowDataLoss: writes may be lost' : ''}`;
    switchRoles(this.deps.cluster, { leader: name, epoch, previous, reached: result.reached, note }, this.deps.log);
    return result;
  }

  private incomplete(name: string, epoch: bigint, why: string): GraphQLError {
    return userError(
      ErrorCode.PromotionUnsafe,
      `promotion of ${name} to epoch ${epoch} is incomplete: ${why}. The nodes it claimed refuse writes until promote is run again ` +
        '(with more nodes reachable, or allowDataLoss: true)',
      { node: name },
    );
  }
}
