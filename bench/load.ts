import autocannon from 'autocannon';
import type { ServerProcess } from '../harness/server-process';
import { RssSampler } from './rss-sampler';
import { cpuMsBetween, scrape, writePhases } from './server-metrics';
import { Latencies, type LoadResult } from './stats';

export interface HttpLoad {
  url: string;
  clients: number;
  /** Seconds to run; ignored when `amount` is given. */
  seconds: number;
  /** Total requests to send instead of a duration. */
  amount?: number;
  /** Builds one request body; called for every request, so ids can be random. */
  body: () => string;
  /** Server whose RSS is sampled during the run, and whose metrics (CPU, write path) are read before and after it. */
  server?: ServerProcess;
}

const HEADERS = { 'content-type': 'application/json' };

/**
 * Drives the HTTP endpoint with autocannon: `clients` connections, each sending its next request
 * as soon as the previous answered. A response with a GraphQL `errors` entry counts as an error.
 * Latencies are kept to the microsecond (autocannon's own histogram rounds to whole milliseconds).
 */
export async function runHttp(load: HttpLoad): Promise<LoadResult> {
  const latencies = new Latencies();
  let firstError: string | undefined;
  const metricsBefore = load.server ? await scrape(load.server.metricsUrl) : undefined;
  const rss = load.server ? new RssSampler(() => load.server!.rss()).start() : undefined;
  const started = performance.now();
  const instance = autocannon({
    url: load.url,
    connections: load.clients,
    ...(load.amount ? { amount: load.amount } : { duration: load.seconds }),
    timeout: 30,
    method: 'POST',
    headers: HEADERS,
    requests: [{ method: 'POST', headers: HEADERS, setupRequest: (request) => ({ ...request, body: load.body() }) }],
    verifyBody: (body) => {
      if (!body.includes('"errors"')) return true;
      firstError ??= body.slice(0, 300);
      return false;
    },
  });
  instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
    if (status >= 200 && status < 300) latencies.add(ms);
    else firstError ??= `HTTP ${status}`;
  });
  const result = await instance;
  const seconds = (performance.now() - started) / 1000;
  rss?.stop();
  const metricsAfter = load.server ? await scrape(load.server.metricsUrl) : undefined;
  const phases = metricsBefore && metricsAfter ? writePhases(metricsBefore, metricsAfter) : undefined;
  const errors = result.errors + result.timeouts + result.non2xx + result.mismatches;
  const ok = result['2xx'] - result.mismatches;
  const cpuMsPerRequest = metricsBefore && metricsAfter && ok > 0 ? cpuMsBetween(metricsBefore, metricsAfter) / ok : undefined;
  return {
    clients: load.clients,
    seconds,
    requests: ok,
    reqPerSec: ok / seconds,
    ...latencies.summary(),
    errors,
    firstError,
    peakRss: rss?.peak,
    phases: phases && phases.commits > 0 ? phases : undefined,
    cpuMsPerRequest,
  };
}

/** A short untimed run first (JIT, pools, caches), then the measured one. */
export async function warmAndRun(load: HttpLoad, warmupSeconds: number): Promise<LoadResult> {
  if (warmupSeconds > 0) await runHttp({ ...load, seconds: warmupSeconds, amount: undefined, server: undefined });
  return runHttp(load);
}
