import { LocalNodes } from '../harness/nodes';
import { ServerProcess } from '../harness/server-process';
import { gql } from './gql';
import { BENCH_ADMIN_TOKEN } from './topology';

/** One way the leader is replaced: by an operator's promote, or by AUTO_FAILOVER with its settings. */
export interface FailoverSpec {
  key: string;
  label: string;
  /** An operator calls promote(node: "follower-1") right after the kill. */
  manual: boolean;
  /** The server settings this measurement is about, printed next to its figures. */
  env: Record<string, string>;
}

export const FAILOVER_SPECS: FailoverSpec[] = [
  { key: 'manual', label: 'promote(node: "follower-1") at once', manual: true, env: { HEALTH_INTERVAL_MS: '1000' } },
  {
    key: 'auto',
    label: 'AUTO_FAILOVER, defaults',
    manual: false,
    env: { AUTO_FAILOVER: 'true', FAILOVER_AFTER_MS: '10000', HEALTH_INTERVAL_MS: '1000' },
  },
  {
    key: 'auto-fast',
    label: 'AUTO_FAILOVER, shortest waits',
    manual: false,
    env: { AUTO_FAILOVER: 'true', FAILOVER_AFTER_MS: '1000', HEALTH_INTERVAL_MS: '200' },
  },
];

/** Acknowledged writes before the kill: the loop is at its pace by then. */
const WRITES_BEFORE_KILL = 200;
/** Pause after a refused write before the next, so the retrying client does not spin a core. */
export const RETRY_PAUSE_MS = 5;
/** Give up on a measurement when no write is acknowledged at the new epoch within this. */
const GIVE_UP_MS = 60_000;

const CREATE = 'mutation ($id: Int!) { createEmployee(input: { id: $id, name: "Failover", salary: 1 }) { position } }';
const PROMOTE = 'mutation { promote(node: "follower-1") { epoch leader durationMs } }';

export interface FailoverMeasurement {
  /** From SIGKILL of the leader's postmaster and its children to the first write acknowledged at a newer epoch. */
  killToWriteMs: number;
  /** The promote call as the operator saw it (manual only), and the server's own durationMs for it. */
  promoteMs?: number;
  promoteServerMs?: number;
  /** Writes refused between the kill and that first acknowledged one. */
  refusedWrites: number;
  newLeader: string;
  epoch: string;
}

export interface FailoverResult {
  key: string;
  label: string;
  settings: Record<string, string>;
  runs: FailoverMeasurement[];
  failures: string[];
}

/** Nodes and servers of a measurement under way, so that an interrupted bench can stop them. */
const live = new Set<() => Promise<void>>();

export async function stopFailoverRuns(): Promise<void> {
  await Promise.allSettled([...live].map((stop) => stop()));
}

/**
 * Each spec `repetitions` times, each time on fresh nodes (leader + 2 followers, SYNC_MODE all)
 * and a fresh server process: one client creates employees with unique ids in a loop, the
 * leader's postmaster is SIGKILLed, and the time to the first write acknowledged at the new epoch
 * (its position's high bits) is measured.
 */
export async function failoverRuns(
  repetitions: number,
  serverEnv: Record<string, string>,
  progress: (message: string) => void,
): Promise<FailoverResult[]> {
  const results: FailoverResult[] = [];
  for (const spec of FAILOVER_SPECS) {
    const result: FailoverResult = { key: spec.key, label: spec.label, settings: spec.env, runs: [], failures: [] };
    for (let i = 0; i < repetitions; i++) {
      try {
        const m = await measureOnce(spec, serverEnv);
        result.runs.push(m);
        const promote = m.promoteMs === undefined ? '' : `, promote call ${Math.round(m.promoteMs)} ms`;
        progress(`failover ${spec.key} ${i + 1} of ${repetitions}: first write ${Math.round(m.killToWriteMs)} ms after the kill${promote}`);
      } catch (error) {
        const message = `failover ${spec.key}, run ${i + 1}: ${error instanceof Error ? error.message : String(error)}`;
        result.failures.push(message);
        progress(`FAILED ${message}`);
      }
    }
    results.push(result);
  }
  return results;
}

async function measureOnce(spec: FailoverSpec, serverEnv: Record<string, string>): Promise<FailoverMeasurement> {
  const nodes = await LocalNodes.start(2);
  let server: ServerProcess | undefined;
  const stop = async () => {
    live.delete(stop);
    try {
      await server?.stop();
    } finally {
      await nodes.stop();
    }
  };
  live.add(stop);
  try {
    server = await ServerProcess.start(nodes.replicationNodes, { ...serverEnv, ADMIN_TOKEN: BENCH_ADMIN_TOKEN, ...spec.env });
    const writer = new Writer(server.url);
    const writing = writer.run();
    try {
      await writer.acknowledged(WRITES_BEFORE_KILL, GIVE_UP_MS);
      const before = writer.epoch;
      const refusedBefore = writer.refused;
      const killedAt = performance.now();
      writer.firstAfter(before, killedAt);
      nodes.node('leader').signalAll('SIGKILL');
      let promoteMs: number | undefined;
      let promoteServerMs: number | undefined;
      if (spec.manual) {
        const called = performance.now();
        const { promote } = await gql<{ promote: { durationMs: number } }>(
          server.url,
          PROMOTE,
          {},
          { authorization: `Bearer ${BENCH_ADMIN_TOKEN}` },
        );
        promoteMs = performance.now() - called;
        promoteServerMs = promote.durationMs;
      }
      const first = await writer.first(GIVE_UP_MS);
      return {
        killToWriteMs: first.at - killedAt,
        promoteMs,
        promoteServerMs,
        refusedWrites: writer.refused - refusedBefore,
        newLeader: await leaderName(server.url),
        epoch: first.epoch.toString(),
      };
    } finally {
      writer.stop();
      await writing;
    }
  } finally {
    await stop();
  }
}

async function leaderName(url: string): Promise<string> {
  const { nodes } = await gql<{ nodes: { name: string; role: string }[] }>(url, '{ nodes { name role } }');
  return nodes.find((n) => n.role === 'LEADER')?.name ?? '?';
}

/** One client creating employees 1, 2, 3, ... back to back; a refused write is retried with the next id after RETRY_PAUSE_MS. */
class Writer {
  private running = true;
  private nextId = 1;
  private acks = 0;
  refused = 0;
  /** Epoch of the last acknowledged write's position. */
  epoch = 0n;
  private watch?: { epoch: bigint; sentAfter: number; found?: { at: number; epoch: bigint } };
  private lastError = '';

  constructor(private readonly url: string) {}

  async run(): Promise<void> {
    while (this.running) {
      const sent = performance.now();
      try {
        const { createEmployee } = await gql<{ createEmployee: { position: string } }>(this.url, CREATE, { id: this.nextId++ });
        const at = performance.now();
        this.epoch = BigInt(createEmployee.position) >> 40n;
        this.acks++;
        const w = this.watch;
        if (w && !w.found && sent >= w.sentAfter && this.epoch > w.epoch) w.found = { at, epoch: this.epoch };
      } catch (error) {
        this.refused++;
        this.lastError = error instanceof Error ? error.message : String(error);
        await sleep(RETRY_PAUSE_MS);
      }
    }
  }

  stop(): void {
    this.running = false;
  }

  async acknowledged(count: number, timeoutMs: number): Promise<void> {
    await this.until(() => this.acks >= count, timeoutMs, `${count} writes acknowledged`);
  }

  /** Watches for the first write sent after `sentAfter` and acknowledged at an epoch above `epoch`. */
  firstAfter(epoch: bigint, sentAfter: number): void {
    this.watch = { epoch, sentAfter };
  }

  async first(timeoutMs: number): Promise<{ at: number; epoch: bigint }> {
    await this.until(() => this.watch?.found !== undefined, timeoutMs, 'a write acknowledged at a new epoch');
    return this.watch!.found!;
  }

  private async until(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!done()) {
      if (performance.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms (last error: ${this.lastError || 'none'})`);
      await sleep(2);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
