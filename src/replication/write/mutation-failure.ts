import type { GraphQLError } from 'graphql';
import { ErrorCode, badInput, userError } from '../../errors/error-code';
import type { Logger } from '../../logger';
import type { Mutation } from './mutation';
import { isServerError } from '../sql/sql';
import { SqlState } from '../../errors/sqlstate';

/** Failures of concurrency: the mutation itself is fine and may be retried. */
const CONFLICTS: Partial<Record<string, string>> = {
  [SqlState.DeadlockDetected]: 'a deadlock with another write, retried and lost every time',
  [SqlState.SerializationFailure]: 'a serialization conflict with another write',
  [SqlState.LockNotAvailable]: 'a row lock it waited for was not released in time',
  [SqlState.QueryCanceled]: 'it ran longer than the statement timeout',
};

/** Data exceptions that mean "this value cannot be stored"; any other failure is unexpected, logged and masked. */
const UNSTORABLE: Partial<Record<string, string>> = {
  [SqlState.StringDataRightTruncation]: 'a text is longer than its column allows',
  [SqlState.NumericValueOutOfRange]: 'a number is out of range for its column',
  [SqlState.CharacterNotInRepertoire]: 'a text holds a character the database cannot store',
  [SqlState.UntranslatableCharacter]: 'a text holds a character the database cannot store',
};

/**
 * The coded error a mutation gets when the leader refused its statement, or undefined when the
 * failure is not the server's refusal of this one statement (a lost connection): that fails the
 * whole batch instead. Only the mutation's own words (`explain`) or a fixed text reach the client.
 */
export function mutationFailure(mutation: Mutation<unknown>, error: unknown, log: Logger): GraphQLError | undefined {
  if (!isServerError(error)) return undefined;
  const explained = mutation.explain?.(error);
  if (explained) return explained;
  const code = error.code ?? '';
  const conflict = CONFLICTS[code];
  if (conflict) {
    return userError(
      ErrorCode.WriteConflict,
      `the leader stopped this mutation (${conflict}); nothing was written, so it is safe to retry`,
      {
        sqlstate: code,
      },
    );
  }
  if (code === SqlState.ProtocolViolation) {
    return badInput(
      'input',
      'the leader rejected the statement whole: a value cannot be sent to PostgreSQL (a NUL character, say); nothing was written',
    );
  }
  // Values that cannot be stored, in fixed words: the server's own message may name the schema.
  const unstorable = UNSTORABLE[code];
  if (unstorable) return badInput('input', `${unstorable}; nothing was written`);
  log.error({ err: error, table: mutation.table.table, op: mutation.op }, 'mutation failed on the leader');
  return userError(ErrorCode.InternalServerError, 'the write failed');
}
