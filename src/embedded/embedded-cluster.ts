import path from 'node:path';
import type { ClusterSource, NodeSettings } from '../config/settings';
import { StartupError } from '../errors/startup-error';
import type { Logger } from '../logger';
import { EmbeddedNode } from './embedded-node';
import { EmbeddedSupervisor } from './embedded-supervisor';
import { PLATFORM_PACKAGE, placeForPostgres } from './postgres-places';

/** Password of the embedded nodes; they listen on 127.0.0.1 only. */
const EMBEDDED_PASSWORD = 'syncrep';

/** The settings of an embedded cluster. */
export type EmbeddedClusterSettings = Extract<ClusterSource, { kind: 'embedded' }>;

/**
 * A local cluster for `npm start` with no configuration: `leader`, `follower-1`, `follower-2`, ...
 * Once started, a node whose PostgreSQL process dies is restarted (EmbeddedSupervisor).
 */
export class EmbeddedCluster {
  /** The nodes, once `start()` has found where they live. */
  nodes: readonly EmbeddedNode[] = [];
  private restarts: EmbeddedSupervisor | undefined;

  constructor(
    private readonly settings: EmbeddedClusterSettings,
    private readonly log: Logger,
  ) {}

  /** Starts every node (initialising new ones) and returns them as `REPLICATION_NODES` would. */
  async start(): Promise<NodeSettings[]> {
    requireBinaries();
    const { dataDir, binDir } = await placeForPostgres(this.settings.dataDir, this.settings.sharedDir, this.log);
    const names = ['leader', ...Array.from({ length: this.settings.followers }, (_, i) => `follower-${i + 1}`)];
    this.nodes = names.map(
      (name, i) =>
        new EmbeddedNode({
          name,
          dataDir: path.join(dataDir, name),
          port: this.settings.basePort + i,
          password: EMBEDDED_PASSWORD,
          database: 'employee',
          binDir,
          onLog: (line) => this.log.debug({ node: name, postgres: line.trim() }),
        }),
    );
    await Promise.all(this.nodes.map((node) => node.start()));
    this.restarts = new EmbeddedSupervisor(this.nodes, this.log);
    return this.nodes.map((node) => ({ name: node.options.name, url: node.url }));
  }

  /**
   * What restarts nodes that die, once started. A server that shuts down stops it first: a
   * terminal's Ctrl-C reaches the nodes too, and they must not come back while the server drains.
   */
  get supervisor(): EmbeddedSupervisor | undefined {
    return this.restarts;
  }

  /** Stops restarting nodes first, so that none comes back while they are being stopped. */
  async stop(): Promise<void> {
    await this.restarts?.stop();
    await Promise.all(this.nodes.map((node) => node.stop()));
  }
}

/**
 * The container image prunes the embedded binaries, since it always runs with REPLICATION_NODES.
 * Started there without it, say so, rather than fail on a folder it may not create or a missing module.
 */
function requireBinaries(): void {
  try {
    require.resolve(PLATFORM_PACKAGE);
  } catch {
    throw new StartupError(
      `the embedded cluster needs ${PLATFORM_PACKAGE}, which is not installed (the container image leaves it out): set REPLICATION_NODES to your PostgreSQL nodes`,
    );
  }
}
