import { ErrorCode, userError } from '../../errors/error-code';
import { StopOnce } from '../../lifecycle/stop-once';
import { compareLockKeys, type Write } from '../entities/write-tx';
import type { PendingWrite, WriteOutcome } from './write-outcome';

/** The one thing the batcher needs from the write path. */
export interface BatchCommitter {
  /**
   * Settles every write of `batch`. Calls `released` once the batch no longer holds its place
   * among the concurrent commits (the leader has decided it; what is left is the followers'
   * COMMIT PREPARED), which may be before the promise settles.
   */
  commit(batch: PendingWrite[], released: () => void): Promise<void>;
}

/** A mutation chosen as a deadlock victim is run again in a later commit, up to this many times in all. */
const MAX_ATTEMPTS = 5;

/**
 * Group commit. Up to `concurrency` distributed commits run at once, each until its leader has
 * decided it (its followers' COMMIT PREPARED, the last step, goes on beside the next commits: see
 * write-path.ts); mutations that arrive while they do wait and go, up to `batchMax` together, into
 * the next one. Under light load every mutation gets its own commit at once; under heavy load the
 * flushes and round trips of one two-phase commit are shared by a whole batch. A mutation that
 * fails does not fail its neighbours (see leader-batch.ts).
 */
export class WriteBatcher {
  private readonly queue: PendingWrite[] = [];
  /** Commits holding a place (up to `concurrency`): from their first statement to their leader's decision. */
  private running = 0;
  /** Commits not yet settled, their followers' last step included (what `stop` waits for). */
  private unsettled = 0;
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
      this.unsettled === 0 && this.queue.length === 0 ? Promise.resolve() : new Promise<void>((resolve) => (this.onIdle = resolve)),
    );
  }

  private pump(): void {
    // An idle path starts at once; another commit alongside a running one waits for a group worth
    // its fixed cost (a two-phase commit's flushes and round trips), or for the running one to end.
    while (this.running < this.concurrency && this.queue.length >= (this.running === 0 ? 1 : this.groupMin)) {
      const batch = this.queue.splice(0, this.batchMax).sort((a, b) => compareLockKeys(a.mutation.lockKey, b.mutation.lockKey));
      for (const write of batch) write.owner = batch;
      this.running += 1;
      this.unsettled += 1;
      let placed = true;
      const release = () => {
        if (!placed) return;
        placed = false;
        this.running -= 1;
        this.pump();
      };
      void this.committer.commit(batch, release).finally(() => {
        release();
        this.unsettled -= 1;
        // Writes queued again (a deadlock's victims) go in the next commit even when none is waiting to start.
        this.pump();
        if (this.unsettled === 0 && this.queue.length === 0) this.onIdle?.();
      });
    }
  }
}
