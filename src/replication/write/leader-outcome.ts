import { GraphQLError } from 'graphql';
import type { DataSource } from 'typeorm';
import type { Logger } from '../../logger';
import type { Change } from '../change';
import { unexpectedFailure } from './mutation-failure';
import type { PendingWrite } from './write-outcome';

/** A write that ran on the leader, and its result. */
export interface Applied {
  write: PendingWrite;
  value: unknown;
}

/** A write the leader refused (NOT_FOUND, ALREADY_EXISTS, ...), with the error to give it. */
export interface Refused {
  write: PendingWrite;
  error: GraphQLError;
}

/** What step 1 made of a batch. A deadlock victim put back in the queue is in neither list. */
export interface LeaderBatch {
  applied: Applied[];
  /**
   * Not settled here: a refusal was judged on this transaction's state, so it is reported once
   * that transaction has committed, and a commit that fails reports its own failure instead.
   */
  refused: Refused[];
  /** Every row change of the applied writes, in the order the leader made them: what followers apply. */
  changes: Change[];
  position: bigint;
}

/** What the leader's step needs besides the connection. */
export interface LeaderContext {
  /** The leader's DataSource: entity metadata, and the driver's value conversions. */
  dataSource: DataSource;
  /** The leader returns an UPDATE's prior rows itself (PostgreSQL 18): one statement per update, no lock first (updateStatement). */
  returnsOld: boolean;
  log: Logger;
}

/** Tells a write that its statement was never run here: its batch is starting over, or the write had ended. */
export class NotSent extends Error {
  constructor() {
    super('this statement was not sent: its batch is starting over, or its write had already ended');
  }
}

/** The error a write that threw gets: its own GraphQLError, or a masked one for anything else (logged). */
export function refusal(write: PendingWrite, error: unknown, log: Logger): GraphQLError {
  return error instanceof GraphQLError ? error : unexpectedFailure(write.mutation, error, log);
}
