import { ErrorCode, userError } from '../../errors/error-code';

type Waiter<T> = { resolve: (result: IteratorResult<T>) => void; reject: (error: unknown) => void };

/**
 * Events pushed by a source, read as an async iterator, with at most `capacity` unread.
 *
 * A reader that falls `capacity` events behind is ended, not fed from a buffer that drops the
 * oldest: a dashboard that missed a state change would show a wrong state with no sign of it,
 * while an ended subscription tells it to subscribe again and read `nodes` afresh. Its buffer is
 * freed and it unsubscribes at once; its next read throws SUBSCRIBER_TOO_SLOW. The reader's pace
 * is its client's: graphql-ws reads the next event only once the socket took the last one.
 *
 * `return()` (a client that completes or disconnects) unsubscribes and ends a pending read.
 */
export class EventStream<T> implements AsyncIterableIterator<T> {
  private readonly buffer: T[] = [];
  private waiter: Waiter<T> | undefined;
  private failure: Error | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(
    subscribe: (listener: (event: T) => void) => () => void,
    private readonly capacity: number,
  ) {
    this.unsubscribe = subscribe((event) => this.push(event));
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.buffer.length > 0) return Promise.resolve({ value: this.buffer.shift() as T, done: false });
    if (this.failure) {
      const failure = this.failure;
      this.failure = undefined;
      return Promise.reject(failure);
    }
    if (!this.unsubscribe) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  return(): Promise<IteratorResult<T>> {
    this.end();
    this.buffer.length = 0;
    this.failure = undefined;
    return Promise.resolve({ value: undefined, done: true });
  }

  private push(event: T): void {
    if (this.waiter) {
      this.waiter.resolve({ value: event, done: false });
      this.waiter = undefined;
    } else if (this.buffer.length < this.capacity) {
      this.buffer.push(event);
    } else {
      this.buffer.length = 0;
      this.failure = userError(
        ErrorCode.SubscriberTooSlow,
        `this subscription fell more than ${this.capacity} events behind and was ended: subscribe again, and read \`nodes\` for the current states`,
      );
      this.end();
    }
  }

  /** Unsubscribes; a read waiting for an event ends. */
  private end(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.waiter?.resolve({ value: undefined, done: true });
    this.waiter = undefined;
  }
}
