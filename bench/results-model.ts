import type { BenchOptions } from './args';
import type { ConsistencyResult } from './consistency-run';
import type { FailoverResult } from './failover-run';
import type { CatchUpResult, ReadResults, SoakResult } from './scenarios';
import type { LoadResult } from './stats';

/** Everything one `npm run bench` measured. Topology keys are those of TOPOLOGIES. */
export interface BenchResults {
  startedAt: string;
  options: BenchOptions;
  machine: { cpus: number; node: string; platform: string };
  /** updateEmployee over HTTP, by topology, then by client count. */
  writes: Record<string, Record<number, LoadResult>>;
  /** UPDATE through pg on the leader node, by client count. */
  pg: Record<number, LoadResult>;
  reads?: ReadResults;
  /** createDepartmentWithEmployees (1 department, 5 employees) on leader + 2 in `all`, by client count. */
  departments?: Record<number, LoadResult>;
  /** createEmployees of 10,000 rows, milliseconds, by topology. */
  bulk: Record<string, number>;
  /** Seeding createEmployees (the first, cold), milliseconds, by topology. */
  seed: Record<string, number>;
  catchUp?: CatchUpResult;
  /** `consistency` on 100,000 rows while writes go on. */
  consistency?: ConsistencyResult;
  soak?: SoakResult;
  /** Leader loss to the first write acknowledged by the new leader, per way of failing over (`--failover`). */
  failover?: FailoverResult[];
  /** Warning and error lines the server logged, by topology. */
  serverLog: Record<string, string[]>;
  failures: string[];
}
