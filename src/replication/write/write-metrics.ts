import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The steps of one distributed commit, as the write path times them. */
export type WritePhase = 'leader' | 'prepare' | 'commit' | 'commit_prepared';

/**
 * What the write path reports about itself, in a registry of its own (so two servers in one
 * process, as in tests, never share counts): how long each step of a distributed commit takes,
 * how many mutations each carries, and the process's own metrics.
 */
export class WriteMetrics {
  readonly registry = new Registry();
  private readonly phases: Histogram<'phase'>;
  private readonly batchSize: Histogram;
  private readonly commits: Counter<'outcome'>;

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'syncrep_' });
    this.phases = new Histogram({
      name: 'syncrep_write_phase_seconds',
      help: 'Time of each step of a distributed commit: leader (BEGIN and the mutations), prepare (the followers apply and PREPARE), commit (log row and COMMIT on the leader), commit_prepared (the followers)',
      labelNames: ['phase'],
      buckets: [0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1, 5],
      registers: [this.registry],
    });
    this.batchSize = new Histogram({
      name: 'syncrep_write_batch_mutations',
      help: 'Mutations carried by one distributed commit (group commit)',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 1024],
      registers: [this.registry],
    });
    this.commits = new Counter({
      name: 'syncrep_distributed_commits_total',
      help: 'Distributed commits by outcome: committed, rolled_back (a follower could not prepare, or nothing to commit), failed',
      labelNames: ['outcome'],
      registers: [this.registry],
    });
  }

  /** Exports how many mutations wait for a commit, as `queue` holds them when scraped. */
  watchQueue(queue: { readonly queued: number }): void {
    new Gauge({
      name: 'syncrep_write_queue_mutations',
      help: 'Mutations waiting for a distributed commit to carry them (group commit: they go together in the next one)',
      registers: [this.registry],
      collect() {
        this.set(queue.queued);
      },
    });
  }

  /** Runs one phase's work and records how long it took (when it succeeds). */
  async timed<T>(phase: WritePhase, work: () => Promise<T>): Promise<T> {
    const started = performance.now();
    const result = await work();
    this.phases.observe({ phase }, (performance.now() - started) / 1000);
    return result;
  }

  batch(mutations: number): void {
    this.batchSize.observe(mutations);
  }

  outcome(outcome: 'committed' | 'rolled_back' | 'failed'): void {
    this.commits.inc({ outcome });
  }
}
