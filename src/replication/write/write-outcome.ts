import type { GraphQLError } from 'graphql';
import type { Write } from '../entities/write-tx';

/** What a committed mutation reports back to its client. */
export interface WriteOutcome<T> {
  value: T;
  /** Replication position of the distributed commit that carried this mutation. */
  position: string;
  /** Nodes that committed it: the leader first, then every follower that did. */
  committedOn: string[];
}

/** A mutation waiting for, or taking part in, a distributed commit. */
export interface PendingWrite {
  mutation: Write<unknown>;
  resolve(outcome: WriteOutcome<unknown>): void;
  reject(error: GraphQLError): void;
  /** Puts the write back in the queue for a later commit; false when it has been tried enough. */
  retry(): boolean;
  /**
   * The batch that carries the write now; unset while it waits in the queue. A commit that fails
   * settles only the writes it still owns: one it put back in the queue belongs to a later commit.
   */
  owner?: readonly PendingWrite[];
}

/** The writes of `batch` it still carries (none has been put back in the queue since). */
export function owned(batch: readonly PendingWrite[]): PendingWrite[] {
  return batch.filter((write) => write.owner === batch);
}

/** Positions are fixed-width decimal strings: comparing them as strings orders them. */
export function formatPosition(position: bigint): string {
  return position.toString().padStart(20, '0');
}
