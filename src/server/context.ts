import type { ClusterEvents } from '../replication/events/cluster-events';
import type { ReadTracker, ReplicationService } from '../replication/replication-service';

/** Per-request (or, over graphql-ws, per-subscription) context: the replication service, what this request's reads touched, and what the admin guard checks. */
export interface AppContext extends ReadTracker {
  replication: ReplicationService;
  /** What happens to the nodes, for the `clusterEvents` subscription. */
  events: ClusterEvents;
  /**
   * The request's `Authorization` header as sent, if any (over graphql-ws, the connection params'
   * `authorization`, else the upgrade request's header). Read only by the admin guard; never logged.
   */
  authorization: string | undefined;
  /**
   * SHA-256 of the configured ADMIN_TOKEN (see `adminTokenDigest`), or undefined when admin access
   * is off. A digest, not the token, so the secret itself is not copied into every request.
   */
  adminTokenDigest: Buffer | undefined;
}
