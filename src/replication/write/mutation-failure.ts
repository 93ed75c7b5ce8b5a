import type { GraphQLError } from 'graphql';
import type { DatabaseError } from 'pg';
import type { DataSource } from 'typeorm';
import { ErrorCode, badInput, userError } from '../../errors/error-code';
import type { Logger } from '../../logger';
import type { Write } from '../entities/write-tx';
import { isServerError } from '../sql/sql';
import { SqlState } from '../../errors/sqlstate';

/** Failures of concurrency: the write itself is fine and may be retried. */
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
 * The coded error a write gets when the leader refused one of its statements, or undefined when
 * the failure is not the server's refusal of that statement (a lost connection): that fails the
 * whole batch instead. The write's own words (`explain`) come first; then the rules every
 * replicated table shares (a duplicate key, a missing or still-used reference, a missing value),
 * worded from the constraint PostgreSQL names, with the entity's property names.
 */
export function mutationFailure(write: Write<unknown>, error: unknown, dataSource: DataSource, log: Logger): GraphQLError | undefined {
  if (!isServerError(error)) return undefined;
  const explained = write.explain?.(error);
  if (explained) return explained;
  const code = error.code ?? '';
  const constraint = constraintFailure(error, dataSource);
  if (constraint) return constraint;
  const conflict = CONFLICTS[code];
  if (conflict) {
    return userError(ErrorCode.WriteConflict, `the leader stopped this write (${conflict}); nothing was written, so it is safe to retry`, {
      sqlstate: code,
    });
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
  log.error({ err: error, write: write.name }, 'write failed on the leader');
  return userError(ErrorCode.InternalServerError, 'the write failed');
}

/** A write's `run` threw something other than a GraphQLError: a fault in domain code, logged and masked. */
export function unexpectedFailure(write: Write<unknown>, error: unknown, log: Logger): GraphQLError {
  log.error({ err: error, write: write.name }, 'write failed in its own code');
  return userError(ErrorCode.InternalServerError, 'the write failed');
}

/** `Key (a, b)=(1, x)` of a constraint error's detail: the columns and the values, as PostgreSQL printed them. */
function keyOf(detail: string | undefined): { columns: string[]; values: string } | undefined {
  const found = /^Key \((.+?)\)=\((.*)\)/.exec(detail ?? '');
  return found ? { columns: found[1].split(', '), values: found[2] } : undefined;
}

/** A column's entity property name (what a client knows), or the column name when no entity maps it. */
function propertyOf(dataSource: DataSource, table: string | undefined, column: string): string {
  const metadata = dataSource.entityMetadatas.find((m) => m.tableName === table);
  return metadata?.findColumnWithDatabaseName(column)?.propertyName ?? column;
}

/** The one table `referring`'s foreign keys reach by `columns`, by TypeORM's metadata; undefined when not exactly one. */
function referencedTable(dataSource: DataSource, referring: string, columns: readonly string[]): string | undefined {
  const metadata = dataSource.entityMetadatas.find((m) => m.tableName === referring);
  const keys = (metadata?.foreignKeys ?? []).filter(
    (fk) => fk.referencedColumns.map((c) => c.databaseName).join(',') === columns.join(','),
  );
  const tables = [...new Set(keys.map((fk) => fk.referencedEntityMetadata.tableName))];
  return tables.length === 1 ? tables[0] : undefined;
}

/** What a client calls a table's rows: its entity's name (`employee` for emp), or the table's when no entity maps it. */
function rowName(dataSource: DataSource, table: string | undefined): string | undefined {
  const metadata = dataSource.entityMetadatas.find((m) => m.tableName === table);
  return metadata ? metadata.targetName.toLowerCase() : table;
}

function constraintFailure(error: DatabaseError, dataSource: DataSource): GraphQLError | undefined {
  const table = error.table;
  const called = rowName(dataSource, table);
  const key = keyOf(error.detail);
  const fields = key?.columns.map((c) => propertyOf(dataSource, table, c)) ?? [];
  const what = key ? `${fields.join(', ')} ${key.values}` : 'those values';
  switch (error.code) {
    case SqlState.UniqueViolation:
      return userError(ErrorCode.AlreadyExists, `${called ?? 'a row'} with ${what} already exists; nothing was written`, {
        table: table ?? null,
        fields,
      });
    case SqlState.ForeignKeyViolation: {
      // "is not present in table t": this write refers to a missing row; "is still referenced from table t": others refer to this one.
      const other = /table "([^"]+)"/.exec(error.detail ?? '')?.[1] ?? 'another table';
      if (/still referenced/.test(error.detail ?? '')) {
        // PostgreSQL names the referring table here; the row's own is the one its key refers to.
        const referenced = referencedTable(dataSource, other, key?.columns ?? []);
        const own = key?.columns.map((c) => propertyOf(dataSource, referenced, c)) ?? [];
        const row = referenced
          ? `${rowName(dataSource, referenced)} with ${key ? `${own.join(', ')} ${key.values}` : 'those values'}`
          : 'the row';
        return userError(
          ErrorCode.StillReferenced,
          `${row} is still referred to by ${rowName(dataSource, other)} rows; change or delete those first (nothing was written)`,
          { table: referenced ?? null, referencedBy: other, fields: own },
        );
      }
      return userError(
        ErrorCode.ReferenceNotFound,
        `${called ?? 'the row'} refers to ${rowName(dataSource, other)} with ${what}, which does not exist; nothing was written`,
        {
          table: table ?? null,
          references: other,
          fields,
        },
      );
    }
    case SqlState.NotNullViolation: {
      const field = error.column ? propertyOf(dataSource, table, error.column) : 'input';
      return badInput(field, `a value is required (${called ?? 'the table'} does not allow null here); nothing was written`);
    }
    case SqlState.CheckViolation:
      return badInput(
        'input',
        `the values break the rule ${error.constraint ?? 'of a check constraint'} on ${called ?? 'the table'}; nothing was written`,
      );
    default:
      return undefined;
  }
}
