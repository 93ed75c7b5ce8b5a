import type { ReadTracker, ReplicationService } from '../replication/replication-service';

/** Per-request context: the replication service, what this request's reads touched, and what the admin guard checks. */
export interface AppContext extends ReadTracker {
  replication: ReplicationService;
  /** The request's `Authorization` header as sent, if any. Read only by the admin guard; never logged. */
  authorization: string | undefined;
  /**
   * SHA-256 of the configured ADMIN_TOKEN (see `adminTokenDigest`), or undefined when admin access
   * is off. A digest, not the token, so the secret itself is not copied into every request.
   */
  adminTokenDigest: Buffer | undefined;
}
