import os from 'node:os';
import { parseArgs, UsageError, USAGE, type BenchOptions } from './args';
import { report } from './report';
import type { BenchResults } from './results-model';
import { consistencyRun } from './consistency-run';
import { failoverRuns, stopFailoverRuns } from './failover-run';
import { bulkRun, catchUpRun, departmentRuns, pgRuns, readRuns, soakRun, writeRuns } from './scenarios';
import { Topology, TOPOLOGIES, type TopologySpec } from './topology';

const started = performance.now();

/** Progress on stderr, so that stdout holds only the report. */
function progress(message: string): void {
  process.stderr.write(`[bench ${((performance.now() - started) / 1000).toFixed(1).padStart(6)}s] ${message}\n`);
}

async function timed<T>(what: string, work: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const result = await work();
  progress(`${what}: ${((performance.now() - t0) / 1000).toFixed(1)}s`);
  return result;
}

/** Every scenario but the write runs, on one running topology. */
async function otherScenarios(t: Topology, o: BenchOptions, r: BenchResults): Promise<void> {
  const { spec } = t;
  if (spec.key === 'alone') r.pg = await timed('pg direct runs', () => pgRuns(t, o));
  if (spec.key === 'f2-all') r.reads = await timed(`${spec.label}: read runs`, () => readRuns(t, o));
  if (spec.key === 'f2-all') r.departments = await timed(`${spec.label}: createDepartmentWithEmployees runs`, () => departmentRuns(t, o));
  r.bulk[spec.key] = await timed(`${spec.label}: bulk createEmployees`, () => bulkRun(t, o, 0));
  if (spec.key === 'f2-all') r.consistency = await timed(`${spec.label}: consistency checks`, () => consistencyRun(t, o, o.rows + 10_000));
  if (spec.key === 'f2-all' && o.soak > 0) r.soak = await timed(`${spec.label}: long write run`, () => soakRun(t, o));
  if (spec.key === 'f2-q1' && o.catchup > 0)
    r.catchUp = await timed(`${spec.label}: catch-up of ${o.catchup} writes`, () => catchUpRun(t, o));
}

/**
 * Starts every topology and keeps them all running, so that their write runs can take turns;
 * then the other scenarios, one topology at a time, and everything stopped.
 */
async function measure(specs: TopologySpec[], o: BenchOptions, r: BenchResults): Promise<void> {
  const running: Topology[] = [];
  const fail = (spec: TopologySpec, error: unknown) => {
    const message = `${spec.label}: ${error instanceof Error ? error.message : String(error)}`;
    r.failures.push(message);
    progress(`FAILED ${message}`);
  };
  try {
    for (const spec of specs) {
      try {
        const t = await timed(`${spec.label}: nodes + server started, ${o.rows} rows seeded`, () =>
          Topology.start(spec, o.rows, o.serverEnv),
        );
        r.seed[spec.key] = t.seedMs;
        running.push(t);
      } catch (error) {
        fail(spec, error);
      }
    }
    const writes = await timed('updateEmployee runs, topologies in turn', () => writeRuns(running, o, progress));
    r.writes = writes.results;
    r.failures.push(...writes.failed);
    for (const t of running) {
      try {
        await otherScenarios(t, o, r);
      } catch (error) {
        fail(t.spec, error);
      }
    }
  } finally {
    for (const t of running) r.serverLog[t.spec.key] = t.server.logLines;
    await timed('every topology stopped', () => Topology.stopAll());
  }
}

async function main(): Promise<void> {
  let options: BenchOptions;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    if (error.message) process.stderr.write(`bench: ${error.message}\n`);
    process.stderr.write(`${USAGE}\n`);
    process.exit(error.message ? 2 : 0);
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      progress(`${signal}: stopping servers and nodes`);
      void Promise.allSettled([Topology.stopAll(), stopFailoverRuns()]).finally(() => process.exit(130));
    });
  }
  const results: BenchResults = {
    startedAt: new Date().toISOString(),
    options,
    machine: { cpus: os.cpus().length, node: process.version, platform: `${process.platform}-${process.arch}` },
    writes: {},
    pg: {},
    bulk: {},
    seed: {},
    serverLog: {},
    failures: [],
  };
  await measure(
    TOPOLOGIES.filter((t) => options.topologies.includes(t.key)),
    options,
    results,
  );
  if (options.failover > 0) {
    results.failover = await timed(`leader failover, ${options.failover} of each on fresh nodes`, () =>
      failoverRuns(options.failover, options.serverEnv, progress),
    );
    results.failures.push(...results.failover.flatMap((f) => f.failures));
  }
  const files = await report(results);
  progress(`done; wrote ${files.join(', ')}`);
}

main()
  .catch(async (error) => {
    process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    await Promise.allSettled([Topology.stopAll(), stopFailoverRuns()]);
    process.exitCode = 1;
  })
  // A missed target never makes the exit code non-zero; exit explicitly so no stray handle keeps us alive.
  .finally(() => process.exit());
