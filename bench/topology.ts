import { LocalNodes } from '../harness/nodes';
import { createRows, nodeStates } from './gql';
import { ServerProcess } from '../harness/server-process';

/** One cluster shape the benchmark measures. */
export interface TopologySpec {
  key: string;
  label: string;
  followers: number;
  env: Record<string, string>;
}

export const TOPOLOGIES: TopologySpec[] = [
  { key: 'alone', label: 'leader alone', followers: 0, env: { SYNC_MODE: 'all' } },
  { key: 'f1', label: 'leader + 1 follower', followers: 1, env: { SYNC_MODE: 'all' } },
  { key: 'f2-all', label: 'leader + 2 (all)', followers: 2, env: { SYNC_MODE: 'all' } },
  { key: 'f2-q1', label: 'leader + 2 (quorum 1)', followers: 2, env: { SYNC_MODE: 'quorum', SYNC_QUORUM: '1' } },
];

/** The bench's servers take admin operations (consistency) with this token. */
export const BENCH_ADMIN_TOKEN = 'bench-admin-token-0123456789';

/** Every topology still running, so that an interrupted run can stop them all. */
const live = new Set<Topology>();

/** Fresh embedded nodes, a syncrep server process in front of them, and `rows` seeded employees. */
export class Topology {
  private constructor(
    readonly spec: TopologySpec,
    readonly nodes: LocalNodes,
    readonly server: ServerProcess,
    readonly seedMs: number,
  ) {}

  static async start(spec: TopologySpec, rows: number, extraEnv: Record<string, string>): Promise<Topology> {
    const nodes = await LocalNodes.start(spec.followers);
    let server: ServerProcess | undefined;
    try {
      server = await ServerProcess.start(nodes.replicationNodes, { ADMIN_TOKEN: BENCH_ADMIN_TOKEN, ...extraEnv, ...spec.env });
      const notInSync = (await nodeStates(server.url)).filter((n) => n.name !== 'leader' && n.state !== 'IN_SYNC');
      if (notInSync.length) throw new Error(`followers not in sync at start: ${JSON.stringify(notInSync)}`);
      let seedMs = 0;
      for (let first = 1; first <= rows; first += 10_000) seedMs += await createRows(server.url, first, Math.min(10_000, rows - first + 1));
      const topology = new Topology(spec, nodes, server, seedMs);
      live.add(topology);
      return topology;
    } catch (error) {
      await server?.stop();
      await nodes.stop();
      throw error;
    }
  }

  get url(): string {
    return this.server.url;
  }

  /** Stops the server first (it drains its writes), then the nodes, and removes their data. */
  async stop(): Promise<void> {
    live.delete(this);
    try {
      await this.server.stop();
    } finally {
      await this.nodes.stop();
    }
  }

  static async stopAll(): Promise<void> {
    await Promise.allSettled([...live].map((t) => t.stop()));
  }
}
