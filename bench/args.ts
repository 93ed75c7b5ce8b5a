import path from 'node:path';
import { TOPOLOGIES } from './topology';

/** Benchmark options, from `npm run bench -- --flag value`. */
export interface BenchOptions {
  /** Seconds of each measured run. */
  duration: number;
  /** Seconds of untimed load before each measured run. */
  warmup: number;
  /** Client counts of the write runs; the lowest and highest are the ones the targets use. */
  clients: number[];
  /** Concurrent clients of the read runs. */
  readClients: number;
  /** Rows seeded in every topology (ids 1..rows). */
  rows: number;
  /** Write runs per topology and client count; the median one is reported. */
  repeat: number;
  /** Writes the follower misses before catch-up is timed; 0 skips catch-up. */
  catchup: number;
  /** Seconds to wait for the follower to be IN_SYNC again before giving up. */
  catchupTimeout: number;
  /** Writes in the long run whose start and end RSS are compared; 0 skips it. */
  soak: number;
  /** Repetitions of each leader failover measurement, on fresh nodes each time; 0 skips them. */
  failover: number;
  /** Extra settings for every server, as environment variables (WRITE_BATCH_MAX=128, say). */
  serverEnv: Record<string, string>;
  /** Keys of the topologies to measure, in the order of TOPOLOGIES. */
  topologies: string[];
  /** Folder for the JSON and Markdown results. */
  out: string;
}

export const USAGE = `npm run bench -- [flags]
  --duration S         seconds per measured run (default 5)
  --warmup S           seconds of warm-up before each run (default 1)
  --clients A,B        concurrent clients of the write runs (default 1,32)
  --read-clients N     concurrent clients of the read runs (default 32)
  --rows N             employees seeded per topology (default 10000)
  --repeat N           write runs per topology and client count, median reported (default 3)
  --catchup N          writes a follower misses before catch-up is timed; 0 skips (default 50000)
  --catchup-timeout S  seconds to wait for the follower to catch up (default 60)
  --soak N             writes in the long run for the RSS check; 0 skips (default 100000)
  --failover N         leader failover measurements (manual promote, AUTO_FAILOVER at default and
                       shortest waits), each N times on fresh nodes; 0 skips (default 3)
  --server-env K=V,..  settings for every server, e.g. WRITE_CONCURRENCY=2,WRITE_BATCH_MAX=128
                       (a topology's own SYNC_MODE and SYNC_QUORUM win, and a failover run's own settings)
  --topologies A,B     topologies to measure, of ${TOPOLOGIES.map((t) => t.key).join(', ')} (default all);
                       targets that need a missing one are reported as not measured
  --out DIR            results folder (default bench/results)`;

export function parseArgs(argv: string[]): BenchOptions {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') throw new UsageError('');
    const eq = arg.indexOf('=');
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument "${arg}"`);
    if (eq > 0) flags.set(arg.slice(2, eq), arg.slice(eq + 1));
    else if (i + 1 < argv.length) flags.set(arg.slice(2), argv[++i]);
    else throw new UsageError(`${arg} needs a value`);
  }
  const take = (name: string): string | undefined => {
    const value = flags.get(name);
    flags.delete(name);
    return value;
  };
  const duration = num(take('duration'), 5, 'duration', 0.5);
  const clients = (take('clients') ?? '1,32').split(',').map((c) => num(c, 0, 'clients', 1, true));
  const options: BenchOptions = {
    duration,
    warmup: num(take('warmup'), 1, 'warmup', 0),
    clients: [...new Set(clients)].sort((a, b) => a - b),
    readClients: num(take('read-clients'), 32, 'read-clients', 1, true),
    rows: num(take('rows'), 10_000, 'rows', 100, true),
    repeat: num(take('repeat'), 3, 'repeat', 1, true),
    catchup: num(take('catchup'), 50_000, 'catchup', 0, true),
    catchupTimeout: num(take('catchup-timeout'), 60, 'catchup-timeout', 1),
    soak: num(take('soak'), 100_000, 'soak', 0, true),
    failover: num(take('failover'), 3, 'failover', 0, true),
    serverEnv: serverEnv(take('server-env')),
    topologies: topologyKeys(take('topologies')),
    out: path.resolve(take('out') ?? path.join(__dirname, '..', '..', 'bench', 'results')),
  };
  if (flags.size) throw new UsageError(`unknown flag --${[...flags.keys()][0]}`);
  return options;
}

export class UsageError extends Error {}

function serverEnv(raw: string | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of (raw ?? '').split(',').filter((p) => p.trim())) {
    const eq = pair.indexOf('=');
    const key = pair.slice(0, eq).trim();
    if (eq <= 0 || !/^[A-Z][A-Z0-9_]*$/.test(key)) throw new UsageError(`--server-env: "${pair}" is not NAME=value`);
    env[key] = pair.slice(eq + 1).trim();
  }
  return env;
}

function topologyKeys(raw: string | undefined): string[] {
  const known = TOPOLOGIES.map((t) => t.key);
  if (raw === undefined) return known;
  const wanted = raw.split(',').map((k) => k.trim());
  const unknown = wanted.find((k) => !known.includes(k));
  if (unknown !== undefined) throw new UsageError(`--topologies: unknown topology "${unknown}"; choose from ${known.join(', ')}`);
  return known.filter((k) => wanted.includes(k));
}

function num(raw: string | undefined, fallback: number, name: string, min: number, integer = false): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
    throw new UsageError(`--${name} "${raw}" must be ${integer ? 'a whole number' : 'a number'} >= ${min}`);
  }
  return value;
}
