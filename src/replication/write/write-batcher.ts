import { ErrorCode, userError } from '../../errors/error-code';
import { StopOnce } from '../../lifecycle/stop-once';
import { compareLockKeys, type Write } from '../entities/write-tx';
import type { PendingWrite, WriteOutcome } from './write-outcome';

/** The one thing the batcher needs from the write path. */
export interface BatchCommitter {
  commit(batch: PendingWrite[]): Promise<void>;
}

/** A mutation chosen as a deadlock victim is run again in a later commit, up to this many times in all. */
const MAX_ATTEMPTS = 5;

/**
 * Group commit. Up to `concurrency` distributed commits run at once; mutations that arrive while
 * they do wait and go, up to `batchMax` together, into the next one. Under light load every
 * mutation gets its own commit at once; under heavy load the flushes and round trips of one
 * two-phase commit are shared by a whole batch. A mutation that fails does not fail its neighbours
 * (see leader-batch.ts).
 */
export class WriteBatcher {
  private readonly queue: PendingWrite[] = [];
  private running = 0;
  private readonly life = new StopOnce();
  private onIdle: (() => void) | undefined;

  private readonly groupMin: number;

  constructor(
    private readonly committer: BatchCommitter,
    private readonly batchMax: number,
    private readonly concurrency: number,
  ) {
    this.groupMin = Math.max(1, Math.ceil(batchMax / 4));
  }

  /** Queues a mutation; settles when its distributed commit has. */
  submit<T>(mutation: Write<T>): Promise<WriteOutcome<T>> {
    if (this.life.state.kind !== 'open') {
      return Promise.reject(userError(ErrorCode.LeaderUnavailable, 'the server is shutting down; the write was not attempted'));
    }
    return new Promise<WriteOutcome<T>>((resolve, reject) => {
      let attempts = 1;
      const write: PendingWrite = {
        mutation,
        resolve: resolve as PendingWrite['resolve'],
        reject,
        retry: () => {
          if (attempts >= MAX_ATTEMPTS) return false;
          attempts += 1;
          write.owner = undefined;
          this.queue.push(write);
          return true;
        },
      };
      this.queue.push(write);
      this.pump();
    });
  }

  /** Mutations waiting for a commit to carry them (a gauge: syncrep_write_queue_mutations). */
  get queued(): number {
    return this.queue.length;
  }

  /** Stops taking writes and waits for every queued and running one to settle. */
  stop(): Promise<void> {
    return this.life.stop(() =>
      this.running === 0 && this.queue.length === 0 ? Promise.resolve() : new Promise<void>((resolve) => (this.onIdle = resolve)),
    );
  }

  private pump(): void {
    // An idle path starts at once; another commit alongside a running one waits for a group worth
    // its fixed cost (a two-phase commit's flushes and round trips), or for the running one to end.
    while (this.running < this.concurrency && this.queue.length >= (this.running === 0 ? 1 : this.groupMin)) {
      const batch = this.queue.splice(0, this.batchMax).sort((a, b) => compareLockKeys(a.mutation.lockKey, b.mutation.lockKey));
      for (const write of batch) write.owner = batch;
      this.running += 1;
      void this.committer.commit(batch).finally(() => {
        this.running -= 1;
        this.pump();
        if (this.running === 0 && this.queue.length === 0) this.onIdle?.();
      });
    }
  }
}
