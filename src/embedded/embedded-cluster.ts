import path from 'node:path';
import type { NodeSettings } from '../config/settings';
import { StartupError } from '../errors/startup-error';
import type { Logger } from '../logger';
import { EmbeddedNode, PLATFORM_PACKAGE } from './embedded-node';

/** Password of the embedded nodes; they listen on 127.0.0.1 only. */
const EMBEDDED_PASSWORD = 'syncrep';

/** A local cluster for `npm start` with no configuration: `leader`, `follower-1`, `follower-2`, ... */
export class EmbeddedCluster {
  readonly nodes: EmbeddedNode[];

  constructor(dataDir: string, basePort: number, followers: number, log: Logger) {
    const names = ['leader', ...Array.from({ length: followers }, (_, i) => `follower-${i + 1}`)];
    this.nodes = names.map(
      (name, i) =>
        new EmbeddedNode({
          name,
          dataDir: path.join(dataDir, name),
          port: basePort + i,
          password: EMBEDDED_PASSWORD,
          database: 'employee',
          onLog: (line) => log.debug({ node: name, postgres: line.trim() }),
        }),
    );
  }

  /** Starts every node (initialising new ones) and returns them as `REPLICATION_NODES` would. */
  async start(): Promise<NodeSettings[]> {
    requireBinaries();
    await Promise.all(this.nodes.map((node) => node.start()));
    return this.nodes.map((node) => ({ name: node.options.name, url: node.url }));
  }

  async stop(): Promise<void> {
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
