import type { GraphQLError } from 'graphql';
import { ErrorCode, badInput, userError } from '../errors/error-code';
import type { Logger } from '../logger';
import type { Mutation } from './mutation';
import { isServerError } from './sql';

export const DEADLOCK_DETECTED = '40P01';
const SERIALIZATION_FAILURE = '40001';
const LOCK_NOT_AVAILABLE = '55P03';
const QUERY_CANCELED = '57014';
const PROTOCOL_VIOLATION = '08P01';

/** Data exceptions that mean "this value cannot be stored"; any other failure is unexpected, logged and masked. */
const UNSTORABLE: Record<string, string> = {
  '22001': 'a text is longer than its column allows',
  '22003': 'a number is out of range for its column',
  '22021': 'a text holds a character the database cannot store',
  '22P05': 'a text holds a character the database cannot store',
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
  switch (true) {
    case [DEADLOCK_DETECTED, SERIALIZATION_FAILURE, LOCK_NOT_AVAILABLE, QUERY_CANCELED].includes(code):
      return userError(
        ErrorCode.WriteConflict,
        `the leader stopped this mutation (${conflictCause(code)}); nothing was written, so it is safe to retry`,
        { sqlstate: code },
      );
    case code === PROTOCOL_VIOLATION:
      return badInput('input', 'the leader rejected the statement whole: a value cannot be sent to PostgreSQL (a NUL character, say); nothing was written');
    // Values that cannot be stored, in fixed words: the server's own message may name the schema.
    case code in UNSTORABLE:
      return badInput('input', `${UNSTORABLE[code]}; nothing was written`);
    default:
      log.error({ err: error, table: mutation.table.table, op: mutation.op }, 'mutation failed on the leader');
      return userError(ErrorCode.InternalServerError, 'the write failed');
  }
}

function conflictCause(code: string): string {
  switch (code) {
    case DEADLOCK_DETECTED:
      return 'a deadlock with another write, retried and lost every time';
    case SERIALIZATION_FAILURE:
      return 'a serialization conflict with another write';
    case LOCK_NOT_AVAILABLE:
      return 'a row lock it waited for was not released in time';
    default:
      return 'it ran longer than the statement timeout';
  }
}
