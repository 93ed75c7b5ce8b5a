/**
 * Every SQLSTATE syncrep tells apart, in one place
 * (https://www.postgresql.org/docs/current/errcodes-appendix.html), and syncrep's own five.
 */
export const SqlState = {
  /** syncrep_expect: a follower's rows are not what the leader's were (it diverged, or lacks an earlier write). */
  Diverged: 'SR001',
  /** syncrep_confirm: the leader's rows differ from the row images it was about to ship. */
  ImagesDiffer: 'SR002',
  /** syncrep_check_epoch: the node belongs to another epoch or leader (a promotion fenced it). */
  StaleEpoch: 'SR003',
  /** syncrep_check_live: a node marked as lacking (or holding) what the leader does not takes no live write. */
  MarkedNode: 'SR004',
  /** syncrep_check_excluded: a write left out a follower the leader does not record as left out. */
  NotLeftOut: 'SR005',
  UniqueViolation: '23505',
  ForeignKeyViolation: '23503',
  NotNullViolation: '23502',
  CheckViolation: '23514',
  NumericValueOutOfRange: '22003',
  StringDataRightTruncation: '22001',
  CharacterNotInRepertoire: '22021',
  UntranslatableCharacter: '22P05',
  DeadlockDetected: '40P01',
  SerializationFailure: '40001',
  LockNotAvailable: '55P03',
  QueryCanceled: '57014',
  ProtocolViolation: '08P01',
  /** "cached plan must not change result type": a prepared read met a column whose type changed (an online migration). */
  FeatureNotSupported: '0A000',
  /** "prepared transaction with identifier ... does not exist" */
  UndefinedObject: '42704',
  InvalidPassword: '28P01',
  InvalidCatalogName: '3D000',
} as const;
