import { GraphQLError } from 'graphql';
import type { DatabaseError } from 'pg';
import { ErrorCode, userError, type ErrorDetails } from '../../errors/error-code';
import { describeFailure, publicFailure } from '../sql/sql';
import { SqlState } from '../../errors/sqlstate';
import type { Prepared } from './follower-ops';
import type { PendingWrite } from './write-outcome';

/** The errors every write of a distributed commit gets when the commit as a whole fails. */

export function rejectAll(writes: PendingWrite[], error: GraphQLError): void {
  for (const write of writes) write.reject(error);
}

/** The leader refused the transaction (nothing was written). */
export function commitRefused(error: DatabaseError): GraphQLError {
  if (error.code === SqlState.StaleEpoch) {
    return userError(
      ErrorCode.ReplicationFailed,
      'the write was rolled back on every node: this server no longer follows the current leader (a promotion moved it); retry once the server has caught up with the new epoch',
      { nodes: [] },
    );
  }
  if (error.code === SqlState.NotLeftOut) {
    return userError(
      ErrorCode.ReplicationFailed,
      'the write was rolled back on every node: a follower it left out was put back in service meanwhile (by another server); retry',
      { nodes: [] },
    );
  }
  if (error.code !== SqlState.ImagesDiffer) return userError(ErrorCode.InternalServerError, 'the write failed');
  return userError(
    ErrorCode.ReplicationFailed,
    "the write was rolled back on every node: the leader's rows did not match the row images shipped to the followers",
    { nodes: [] },
  );
}

/**
 * A refusal given before any node was asked: no node served the mutation (`servedBy` stays null).
 * Its class says so, so the fact travels with the error wherever it is passed.
 */
export class NotAttemptedError extends GraphQLError {
  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(message, { extensions: { code, ...details } });
  }
}

/** True for a refusal given before the write reached any node. */
export function wasNotAttempted(error: unknown): boolean {
  return error instanceof NotAttemptedError;
}

/** The leader could not take the write: `cause` is the failure met now, or none when it is known to be down. */
export function leaderUnavailable(cause?: unknown): GraphQLError {
  const reason = cause === undefined ? 'it is down' : publicFailure(cause);
  const message = `the leader could not take the write (${reason}); nothing was written`;
  return cause === undefined
    ? new NotAttemptedError(ErrorCode.LeaderUnavailable, message)
    : userError(ErrorCode.LeaderUnavailable, message);
}

/**
 * The write's position was taken from the leader's sequence before a promotion activated it (the
 * sequence enters the epoch's range only then): such a position could equal one an older epoch
 * used, which followers would skip as held. Rolled back before any follower was asked.
 */
export function leaderNotActive(epoch: bigint, position: bigint): GraphQLError {
  return new NotAttemptedError(
    ErrorCode.LeaderUnavailable,
    `the leader was still being promoted to epoch ${epoch} when this write took its position (${position}); nothing was written, retry it`,
  );
}

/** Too few followers prepared: the write was rolled back on every node. */
export function replicationFailed(failed: Prepared[], prepared: number, required: number): GraphQLError {
  const causes = failed.map((f) => `${f.node.name}: ${f.publicFailure ?? 'failed'}`).join('; ');
  const reason = failed.length > 0 ? causes : `only ${prepared} follower(s) in sync, ${required} required`;
  return userError(ErrorCode.ReplicationFailed, `the write was rolled back on every node: ${reason}`, {
    nodes: failed.map((f) => f.node.name),
  });
}

/** Known before trying: too few followers can take the write now (nothing was tried, nothing written). */
export function notEnoughFollowers(reasons: string[], nodes: string[]): GraphQLError {
  return new NotAttemptedError(ErrorCode.ReplicationFailed, `the write was not attempted: ${reasons.join('; ')}; nothing was written`, {
    nodes,
  });
}

/**
 * The outcome is not known: the leader connection failed after COMMIT was sent (`cause`), or the
 * leader committed but too few followers confirmed it (`short` says how many) to survive the
 * leader's loss for sure.
 */
export function outcomeUnknown(cause: unknown, short?: string): GraphQLError {
  const what =
    short === undefined
      ? `the leader connection failed after COMMIT was sent (${describeFailure(cause)})`
      : `the leader committed it, but it was ${short}`;
  return userError(
    short === undefined ? ErrorCode.LeaderUnavailable : ErrorCode.ReplicationFailed,
    `${what}: the write may or may not have committed; every node will be settled to one outcome, so read the row before retrying`,
    { outcomeUnknown: true },
  );
}
