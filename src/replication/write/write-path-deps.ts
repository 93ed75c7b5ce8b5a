import type { FaultHooks } from '../../lifecycle/fault-hooks';
import type { Logger } from '../../logger';
import type { Cluster } from '../nodes/cluster';
import type { NodeLocks } from '../nodes/node-lock';
import type { GidSource } from './gid';
import type { MembershipGate } from './membership-gate';
import type { SyncPolicy } from './sync-policy';
import type { WriteMetrics } from './write-metrics';

/** Everything the write path needs, given once. */
export interface WritePathDeps {
  cluster: Cluster;
  policy: SyncPolicy;
  gids: GidSource;
  log: Logger;
  /** Where the fault tests stop the server (NO_FAULTS in production). */
  faults: FaultHooks;
  /** Gids between PREPARE and their outcome; the in-doubt resolver leaves these alone. */
  inFlight: Set<string>;
  gate: MembershipGate;
  locks: NodeLocks;
  metrics: WriteMetrics;
}
