import type { DataSource } from 'typeorm';
import type { NodeSettings } from '../../config/settings';
import { StartupError } from '../../errors/startup-error';
import type { Logger } from '../../logger';
import { FollowerNode, LeaderNode, type PgNode } from './cluster-node';
import type { FollowerState } from './node-state';
import { NodeUnreachable, prepareNode } from './node-connection';
import { unreplicableOn } from './table-rules';
import { StatementBook } from '../sql/statement-book';
import type { StateSink } from './state-sink';

/** One configured node and its (not yet initialized) TypeORM DataSource, built by the app. */
export interface NodeSource {
  node: NodeSettings;
  dataSource: DataSource;
}

/** What the nodes' own records say about who leads (read by failover/epoch.ts). */
export interface Leadership {
  epoch: bigint;
  leader: string;
  /** The epoch each reachable node has recorded. */
  byNode: Map<string, bigint>;
  /** The leader the current epoch deposed, if no node records that it has rejoined since. */
  deposed?: string;
}

/** Who leads and who follows, read at the moment of use (a promotion moves the roles). */
export interface Roster {
  readonly leader: LeaderNode;
  readonly followers: readonly FollowerNode[];
  /** Leader first. */
  readonly nodes: readonly PgNode[];
  byName(name: string): PgNode | undefined;
}

/** A roster that never changes (unit tests). */
export function fixedRoster(leader: LeaderNode, followers: FollowerNode[]): Roster {
  const nodes = [leader, ...followers];
  return { leader, followers, nodes, byName: (name) => nodes.find((n) => n.name === name) };
}

/** Who leads, in which epoch, as this server knows it. */
interface Roles {
  epoch: bigint;
  leader: LeaderNode;
  followers: FollowerNode[];
}

/**
 * Every configured node, each with its DataSource, connected, checked and migrated, and who
 * leads. The leader is read from the nodes (their `syncrep_epoch`), not from the configuration:
 * REPLICATION_NODES' first node is only the initial one. A promotion moves the role
 * (`switchLeader`); everything that talks to the leader reads `cluster.leader` at the moment it
 * needs it, never keeps it.
 */
export class Cluster implements Roster {
  private roles: Roles;
  /** The apply and confirm statements of the replicated tables, built once per shape for these nodes. */
  readonly statements: StatementBook;

  private constructor(
    roles: Roles,
    /** Every node can return a row's prior image from an UPDATE (`RETURNING old`, PostgreSQL 18). */
    readonly returnsOld: boolean,
    /** Configured order, for stable listings. */
    private readonly order: readonly string[],
  ) {
    this.roles = roles;
    this.statements = new StatementBook(returnsOld);
  }

  get epoch(): bigint {
    return this.roles.epoch;
  }

  get leader(): LeaderNode {
    return this.roles.leader;
  }

  get followers(): readonly FollowerNode[] {
    return this.roles.followers;
  }

  /** Leader first, then the followers in configured order. */
  get nodes(): readonly PgNode[] {
    return [this.roles.leader, ...this.roles.followers];
  }

  /**
   * Connects to every node, refuses nodes that cannot take part in two-phase commit, runs the
   * migrations on each, and reads who leads from the nodes. A node that does not answer (refused,
   * timed out) starts DOWN and is connected and migrated once it answers (`connect`): a node that
   * is gone, such as a failed leader, must not keep the survivors from serving. A node that answers
   * but cannot be used (wrong password or database, too old, no prepared transactions) stops
   * startup, as does finding no node at all.
   */
  static async open(
    sources: NodeSource[],
    log: Logger,
    leadership: (reachable: NodeSource[], configured: NodeSettings[]) => Promise<Leadership>,
  ): Promise<Cluster> {
    let versions: number[];
    let epochs: Leadership;
    const down = new Map<string, string>();
    try {
      const prepared = await Promise.allSettled(sources.map(({ node, dataSource }) => prepareNode(node, dataSource)));
      prepared.forEach((result, i) => {
        if (result.status === 'fulfilled') return;
        if (!(result.reason instanceof NodeUnreachable)) throw result.reason;
        down.set(sources[i].node.name, result.reason.message);
      });
      if (down.size === sources.length) throw new StartupError(`no node is reachable: ${[...down.values()].join('; ')}`);
      versions = prepared.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
      const reachable = sources.filter((s) => !down.has(s.node.name));
      for (const { node, dataSource } of reachable) {
        const ran = await dataSource.runMigrations({ transaction: 'each' });
        await refuseUnreplicable(node.name, dataSource);
        log.info({ node: node.name, migrations: ran.map((m) => m.name) }, 'node ready');
      }
      epochs = await leadership(
        reachable,
        sources.map((s) => s.node),
      );
    } catch (error) {
      await Promise.all(sources.filter(({ dataSource }) => dataSource.isInitialized).map(({ dataSource }) => dataSource.destroy()));
      throw error;
    }
    for (const [node, failure] of down)
      log.error({ node, failure }, 'node unreachable at startup: it starts DOWN and joins once it answers');
    const leaderSource = sources.find((s) => s.node.name === epochs.leader)!;
    const leader = new LeaderNode(leaderSource.node.name, leaderSource.dataSource, leaderSource.node.url);
    const followers = sources
      .filter((s) => s !== leaderSource)
      .map((s) => {
        const follower = new FollowerNode(s.node.name, s.dataSource, s.node.url);
        const recorded = epochs.byNode.get(s.node.name);
        follower.recordedEpoch = recorded;
        const unreachable = down.get(s.node.name);
        // Claimed (and marked) by the promotion, or at an older epoch: not promotable, so writes may
        // go on without it (it would hold them back as DOWN in sync mode all). Rebuilt once it answers.
        if (unreachable !== undefined && s.node.name === epochs.deposed) follower.state = staleEpochState(undefined, epochs.epoch);
        else if (unreachable !== undefined) follower.state = { kind: 'DOWN', reason: unreachable };
        // Not reached by the promotion that made this epoch: it may hold writes no leader kept.
        else if (recorded !== undefined && recorded < epochs.epoch) follower.state = staleEpochState(recorded, epochs.epoch);
        return follower;
      });
    leader.recordedEpoch = epochs.byNode.get(leader.name);
    const leaderDown = down.get(leader.name);
    if (leaderDown !== undefined) leader.state = { kind: 'DOWN', reason: leaderDown };
    return new Cluster(
      { epoch: epochs.epoch, leader, followers },
      versions.every((v) => v >= 180000),
      sources.map((s) => s.node.name),
    );
  }

  /** Tells `sink` every state change of this cluster's nodes from now on, whatever roles they move to (handOver carries it). */
  listen(sink: StateSink): void {
    for (const node of this.nodes) node.sink = sink;
  }

  byName(name: string): PgNode | undefined {
    return this.nodes.find((node) => node.name === name);
  }

  /** Connects to, checks and migrates a node that did not answer at startup (a no-op once done). */
  async connect(node: PgNode, log: Logger): Promise<void> {
    if (node.dataSource.isInitialized) return;
    const version = await prepareNode({ name: node.name, url: node.url }, node.dataSource);
    if (this.returnsOld && version < 180000) {
      await node.dataSource.destroy();
      // The apply statements were chosen at startup for PostgreSQL 18 on every node (RETURNING old).
      throw new StartupError(
        `node "${node.name}" runs PostgreSQL ${Math.floor(version / 10000)} while the nodes this server started with all run 18 or later; ` +
          'upgrade it to 18, or restart the server so that it applies writes in the form older versions accept.',
      );
    }
    const ran = await node.dataSource.runMigrations({ transaction: 'each' });
    try {
      await refuseUnreplicable(node.name, node.dataSource);
    } catch (error) {
      await node.dataSource.destroy();
      throw error;
    }
    log.info({ node: node.name, migrations: ran.map((m) => m.name) }, 'node reached for the first time since startup; ready');
  }

  /**
   * Moves the leader role to `name` for `epoch` (a promotion, or one another server made). The old
   * leader becomes a follower in `oldLeaderState` (it is rebuilt before it serves again); the other
   * followers keep their node objects, so their positions and states carry on.
   */
  switchLeader(name: string, epoch: bigint, oldLeaderState: FollowerState): void {
    const { leader: old, followers } = this.roles;
    if (old.name === name) {
      this.roles = { ...this.roles, epoch };
      return;
    }
    const chosen = followers.find((f) => f.name === name);
    if (!chosen) throw new Error(`${name} is not a follower`);
    const leader = new LeaderNode(chosen.name, chosen.dataSource, chosen.url);
    chosen.handOver(leader);
    const deposed = new FollowerNode(old.name, old.dataSource, old.url);
    old.handOver(deposed);
    deposed.state = oldLeaderState;
    const rest = [...followers.filter((f) => f !== chosen), deposed];
    rest.sort((a, b) => this.order.indexOf(a.name) - this.order.indexOf(b.name));
    this.roles = { epoch, leader, followers: rest };
  }

  /** Closes every node's pool. */
  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.closeHealthPool()));
    await Promise.all(this.nodes.filter((node) => node.dataSource.isInitialized).map((node) => node.dataSource.destroy()));
  }
}

/** The state of a follower found at an older epoch than the cluster's (undefined: the deposed leader, not reached). */
export function staleEpochState(recorded: bigint | undefined, epoch: bigint): FollowerState {
  if (recorded === undefined)
    return { kind: 'NEEDS_RESYNC', reason: `the leader epoch ${epoch} deposed, not rejoined since: rebuilt before it rejoins` };
  return { kind: 'NEEDS_RESYNC', reason: `it is at epoch ${recorded}, the cluster at ${epoch}: rebuilt before it rejoins` };
}

/** Stops a node taking part when its replicated tables do what cannot be replicated (table-rules.ts). */
async function refuseUnreplicable(name: string, dataSource: DataSource): Promise<void> {
  const problem = await unreplicableOn(dataSource);
  if (problem) throw new StartupError(`node "${name}": ${problem}`);
}
