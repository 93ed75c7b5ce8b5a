import type { Settings } from '../config/settings';
import type { Logger } from '../logger';
import { registerNodeMetrics } from './nodes/node-metrics';
import { WriteMetrics } from './write/write-metrics';
import { registerReadMetrics } from './read/read-metrics';
import { CatchUp } from './recovery/catch-up';
import { LogReplayer } from './recovery/log-replayer';
import { MARK_WAIT_MS, NodeLocks } from './nodes/node-lock';
import { Cluster, type NodeSource } from './nodes/cluster';
import { describeFailure } from './sql/sql';
import { settleInitialLeader } from './failover/epoch';
import type { GidSource } from './write/gid';
import { InstanceLiveness } from './recovery/instance-liveness';
import { HealthMonitor } from './recovery/health-monitor';
import { InDoubtResolver } from './recovery/in-doubt-resolver';
import { LogTrimmer } from './log/log-trimmer';
import { MembershipGate } from './write/membership-gate';
import { ReplicationService } from './replication-service';
import { SyncPolicy } from './write/sync-policy';
import { Verifier } from './verify/verifier';
import { WriteBatcher } from './write/write-batcher';
import { WritePath } from './write/write-path';
import { Promoter } from './failover/promoter';
import { AutoFailover } from './failover/auto-failover';
import { registerFailoverMetrics } from './failover/failover-metrics';
import { ClusterEvents } from './events/cluster-events';
import { NO_FAULTS, killAt } from '../lifecycle/fault-hooks';

/** The replication layer, assembled: what the API uses, and the one `stop()` for all of it. */
export interface ReplicationLayer {
  cluster: Cluster;
  /** What happens to the nodes, for the `clusterEvents` subscription (told by the nodes themselves). */
  events: ClusterEvents;
  service: ReplicationService;
  catchUp: CatchUp;
  /** Catch-up's replays of missing positions onto a follower. */
  replayer: LogReplayer;
  metrics: WriteMetrics;
  /** Consistency checks (the `consistency` query, the background check); for the bench and tests too. */
  verifier: Verifier;
  /** Leader failover (the `promote` mutation, AUTO_FAILOVER). */
  promoter: Promoter;
  stop(): Promise<void>;
}

/**
 * Connects to, checks and migrates every node, and reads from them who leads (the first configured
 * node only for a cluster that never had a promotion).
 */
export function openCluster(sources: NodeSource[], log: Logger): Promise<Cluster> {
  return Cluster.open(sources, log, (reachable, configured) => settleInitialLeader(reachable, configured, log));
}

/**
 * Wires the write path, catch-up, in-doubt recovery and health monitor over an open cluster.
 * Before any write is taken, every node's in-doubt transactions are settled and every follower
 * replays what it missed while no server was running.
 */
export async function startReplication(cluster: Cluster, gids: GidSource, settings: Settings, log: Logger): Promise<ReplicationLayer> {
  const inFlight = new Set<string>();
  const gate = new MembershipGate();
  const faults = settings.faultPoint ? killAt(settings.faultPoint) : NO_FAULTS;
  const events = new ClusterEvents();
  cluster.listen(events);
  const metrics = new WriteMetrics();
  registerNodeMetrics(metrics.registry, cluster);
  const liveness = new InstanceLiveness(cluster, gids.instance);
  // A leader down at startup gets this server's presence session once it answers (each health round).
  if (cluster.leader.state.kind === 'UP') await liveness.hold();
  const locks = new NodeLocks(gids.applicationName, settings.dbTimeoutMs);
  const inDoubt = new InDoubtResolver(cluster, { inFlight, gids, liveness }, locks, log);
  const replayer = new LogReplayer(cluster, settings.catchupBatch, log);
  const catchUp = new CatchUp(cluster, gate, inDoubt, locks, replayer, log);
  const policy = new SyncPolicy(settings.sync);
  const writePath = new WritePath({
    cluster,
    policy,
    gids,
    log,
    faults,
    inFlight,
    gate,
    locks,
    metrics,
  });
  const batcher = new WriteBatcher(writePath, settings.writeBatchMax, settings.writeConcurrency);
  metrics.watchQueue(batcher);
  const verifier = new Verifier({ cluster, gate, locks, log }, settings.verifyIntervalMs, log);
  const trimmer = new LogTrimmer(cluster, locks, settings.logRetention, log);
  const promoter = new Promoter({
    cluster,
    gate,
    mode: settings.sync,
    applicationName: gids.applicationName,
    timeoutMs: settings.dbTimeoutMs,
    locks,
    log,
    faults,
    promoted: registerFailoverMetrics(metrics.registry, cluster),
  });
  const autoFailover =
    settings.failoverAfterMs === undefined ? undefined : new AutoFailover(cluster, promoter, settings.failoverAfterMs, log);
  const monitor = new HealthMonitor(
    cluster,
    catchUp,
    inDoubt,
    locks,
    {
      intervalMs: settings.healthIntervalMs,
      timeoutMs: settings.healthTimeoutMs,
      afterRound: async () => {
        await liveness.hold();
        await trimmer.round();
      },
      everyRound: () => autoFailover?.consider(),
      newerEpoch: (epoch, leader) => promoter.follow(epoch, leader),
    },
    log,
  );

  const service = new ReplicationService(cluster, batcher, log, { verifier, monitor, promoter }, policy, {
    positionWait: { waitMs: settings.readWaitMs, checkMs: settings.healthTimeoutMs },
    // Half the pool: the rest stays free for writes, pages and snapshot reads of the same node.
    limits: { concurrency: Math.max(1, Math.floor(settings.poolSize / 2)), batchMax: settings.writeBatchMax },
    metrics: registerReadMetrics(metrics.registry),
  });

  // With the leader down there is nothing to settle from or catch up with: the monitor does it
  // once it answers (or a promotion moves the role).
  if (cluster.leader.state.kind === 'UP') {
    await inDoubt.resolve(cluster.leader);
    // A follower not reached at startup is left to the monitor, which connects it once it answers.
    // One that cannot rejoin now (a promotion left unfinished, say) is retried by the monitor.
    for (const follower of cluster.followers) {
      if (!follower.dataSource.isInitialized) continue;
      await catchUp
        .rejoin(follower, { lockWaitMs: MARK_WAIT_MS })
        .catch((error) => log.warn({ node: follower.name, failure: describeFailure(error) }, 'rejoin at startup failed; retrying'));
    }
  }
  monitor.start();
  verifier.start();

  return {
    cluster,
    events,
    service,
    catchUp,
    replayer,
    metrics,
    verifier,
    promoter,
    async stop() {
      events.close();
      await verifier.stop();
      await monitor.stop();
      await autoFailover?.stop();
      await batcher.stop();
      await liveness.release();
      await locks.stop();
      await cluster.stop();
    },
  };
}
