import type { Logger } from '../../logger';
import { checkConsistency, type ConsistencyDeps, type ConsistencyReport } from './consistency';
import { describeFailure } from '../sql/sql';

/**
 * Runs consistency checks one at a time: the `consistency` query and, when VERIFY_INTERVAL_MS is
 * set, a background check at that interval. Two checks at once would only hold commits back twice.
 */
export class Verifier {
  private running: Promise<ConsistencyReport> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly deps: ConsistencyDeps,
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {}

  /** Runs a check once any check under way has finished. */
  async check(): Promise<ConsistencyReport> {
    while (this.running) await this.running.catch(() => undefined);
    const run = checkConsistency(this.deps);
    this.running = run;
    void run
      .catch(() => undefined)
      .finally(() => {
        if (this.running === run) this.running = undefined;
      });
    return run;
  }

  /** Starts the background check (nothing when the interval is 0). */
  start(): void {
    if (this.intervalMs <= 0) return;
    this.timer = setInterval(() => void this.background(), this.intervalMs);
    this.timer.unref();
  }

  /** Stops the background check and waits for a check under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }

  private async background(): Promise<void> {
    // A round still running (or a query's check) is not stacked up behind: the next tick will do.
    if (this.running || this.stopped) return;
    try {
      const report = await this.check();
      const entry = {
        consistent: report.consistent,
        leaderSuspect: report.leaderSuspect,
        summary: report.summary,
        totalMs: Math.round(report.totalMs),
      };
      if (report.leaderSuspect) this.log.error(entry, 'background consistency check: the leader is the odd one out');
      else if (!report.consistent) this.log.warn(entry, 'background consistency check found differences');
      else this.log.info(entry, 'background consistency check');
    } catch (error) {
      this.log.warn({ failure: error instanceof Error ? error.message : describeFailure(error) }, 'background consistency check failed');
    }
  }
}
