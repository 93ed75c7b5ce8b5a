import type { ReadTracker, ReplicationService } from '../replication/replication-service';

/** Per-request context: the replication service and what this request's reads touched. */
export interface AppContext extends ReadTracker {
  replication: ReplicationService;
}
