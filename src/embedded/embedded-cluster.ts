import path from 'node:path';
import type { NodeSettings } from '../config/settings';
import type { Logger } from '../logger';
import { EmbeddedNode } from './embedded-node';

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
    await Promise.all(this.nodes.map((node) => node.start()));
    return this.nodes.map((node) => ({ name: node.options.name, url: node.url }));
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.stop()));
  }
}
