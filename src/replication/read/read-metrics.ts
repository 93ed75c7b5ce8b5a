import { Histogram, type Registry } from 'prom-client';

/** What the read path reports: how many keys each grouped read by key carried. */
export interface ReadMetrics {
  batch(keys: number): void;
}

/** Registers the read path's metrics in `registry` (the server's own, see WriteMetrics). */
export function registerReadMetrics(registry: Registry): ReadMetrics {
  const keys = new Histogram({
    name: 'syncrep_read_batch_keys',
    help: 'Keys carried by one statement of grouped reads by key (1: a read that went alone)',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 1024],
    registers: [registry],
  });
  return { batch: (n) => keys.observe(n) };
}
