import type { WritePhases } from './server-metrics';

/** One measured load run. Latencies are in milliseconds. */
export interface LoadResult {
  clients: number;
  seconds: number;
  requests: number;
  reqPerSec: number;
  p50: number;
  p99: number;
  errors: number;
  /** First error seen, for the report. */
  firstError?: string;
  /** Highest server RSS sampled during the run, in bytes (HTTP runs only). */
  peakRss?: number;
  /** The server's distributed commits during the run, from its metrics (write runs only). */
  phases?: WritePhases;
  /** The server process's CPU time (user + system) per answered request, in ms, from its metrics. */
  cpuMsPerRequest?: number;
}

/** Percentile (0..100) of ascending samples, by nearest rank. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

/** Collects latencies cheaply, then summarises them. */
export class Latencies {
  private values = new Float64Array(1 << 16);
  count = 0;

  add(ms: number): void {
    if (this.count === this.values.length) {
      const bigger = new Float64Array(this.values.length * 2);
      bigger.set(this.values);
      this.values = bigger;
    }
    this.values[this.count++] = ms;
  }

  summary(): { p50: number; p99: number } {
    const sorted = this.values.slice(0, this.count).sort();
    return { p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
  }
}

export function randomId(rows: number): number {
  return 1 + Math.floor(Math.random() * rows);
}

export function randomSalary(): number {
  return 1000 + Math.floor(Math.random() * 1_000_000);
}
