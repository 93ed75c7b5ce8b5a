import { UnreachableCaseError } from '../errors/unreachable';

/** Where a long-lived thing is in its one-way life: open, stopping (with the stop under way), stopped. */
export type LifeState = { kind: 'open' } | { kind: 'stopping'; stopped: Promise<void> } | { kind: 'stopped' };

/**
 * The one `stop()` of a long-lived thing: the first call runs `work`; a call while it runs waits
 * for the same run; a call after it returns at once. `state` tells whether it still takes work.
 */
export class StopOnce {
  private current: LifeState = { kind: 'open' };

  get state(): LifeState {
    return this.current;
  }

  async stop(work: () => Promise<void>): Promise<void> {
    switch (this.current.kind) {
      case 'stopped':
        return;
      case 'stopping':
        return this.current.stopped;
      case 'open': {
        const stopped = work();
        this.current = { kind: 'stopping', stopped };
        // A stop that fails stays "stopping" with its failure, so every later call reports it too.
        await stopped;
        this.current = { kind: 'stopped' };
        return;
      }
      default:
        throw new UnreachableCaseError(this.current, 'life state');
    }
  }
}
