import { GraphQLError } from 'graphql';

/** Every `extensions.code` syncrep returns on purpose. Anything else is masked as INTERNAL_SERVER_ERROR. */
export enum ErrorCode {
  BadUserInput = 'BAD_USER_INPUT',
  AlreadyExists = 'ALREADY_EXISTS',
  NotFound = 'NOT_FOUND',
  /** A write names a row of another table that does not exist (a foreign key: an unknown departmentId, say); nothing was written. */
  ReferenceNotFound = 'REFERENCE_NOT_FOUND',
  /** A delete (or key change) of a row other rows still refer to (a department with employees); nothing was written. */
  StillReferenced = 'STILL_REFERENCED',
  NodeUnavailable = 'NODE_UNAVAILABLE',
  /** An operator's action (resyncNode) found the node held by another action (a rebuild or catch-up by this or another server) past DB_TIMEOUT_MS; nothing was changed. */
  NodeBusy = 'NODE_BUSY',
  /** A read with `readFrom.atLeast`: no node that may serve it applied that position within READ_WAIT_MS. */
  PositionNotReached = 'POSITION_NOT_REACHED',
  ReplicationFailed = 'REPLICATION_FAILED',
  LeaderUnavailable = 'LEADER_UNAVAILABLE',
  /** A lock conflict, deadlock or statement timeout on the leader stopped the mutation; nothing was written. */
  WriteConflict = 'WRITE_CONFLICT',
  /** A promotion was refused (or stopped part-way): promoting would risk losing an acknowledged write. */
  PromotionUnsafe = 'PROMOTION_UNSAFE',
  /** An admin-only operation without `Authorization: Bearer <ADMIN_TOKEN>`. */
  Unauthenticated = 'UNAUTHENTICATED',
  /** An admin-only operation with a wrong token, or with admin access turned off. */
  Forbidden = 'FORBIDDEN',
  /** A request this transport does not serve (a subscription sent over HTTP: it is served over graphql-ws). */
  BadRequest = 'BAD_REQUEST',
  /** A subscriber fell too many events behind; its subscription was ended (subscribe again). */
  SubscriberTooSlow = 'SUBSCRIBER_TOO_SLOW',
  InternalServerError = 'INTERNAL_SERVER_ERROR',
}

/** One input field a BAD_USER_INPUT refuses, and every rule it breaks (each says what to fix). */
export interface FieldProblem {
  /** Path of the field in the operation's arguments, e.g. `input.name` or `inputs[1].id`. */
  field: string;
  rules: string[];
}

/** Extra, safe-to-show facts attached to an error (never SQL, hosts or passwords). */
export type ErrorDetails = Record<string, string | number | boolean | string[] | number[] | FieldProblem[] | null>;

/** An expected failure, shown to the client as is. */
export function userError(code: ErrorCode, message: string, details: ErrorDetails = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...details } });
}

/**
 * A BAD_USER_INPUT raised by hand (a rule class-validator cannot check, such as a repeated id or an
 * overdraft), in the same shape as the validation errors built in format-error.ts:
 * `extensions.fields: [{ field, rules: [rule] }]`, so clients read every BAD_USER_INPUT one way.
 * `rule` says what to fix; the message is `${field}: ${rule}`.
 */
export function badInput(field: string, rule: string, details: ErrorDetails = {}): GraphQLError {
  return userError(ErrorCode.BadUserInput, `${field}: ${rule}`, { ...details, fields: [{ field, rules: [rule] }] });
}

/** True for errors created by `userError` (or by GraphQL itself) that carry one of our codes. */
export function isExpectedError(error: unknown): error is GraphQLError {
  return (
    error instanceof GraphQLError &&
    Object.values(ErrorCode).includes(error.extensions?.code as ErrorCode) &&
    error.extensions?.code !== ErrorCode.InternalServerError
  );
}
