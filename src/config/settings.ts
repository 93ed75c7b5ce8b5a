/** One PostgreSQL node as the operator named it. */
export interface NodeSettings {
  /** Name used in `readFrom.node`, in `nodes` and in error messages. */
  name: string;
  /** postgres:// connection URL. */
  url: string;
}

/** Where the nodes come from: the operator's own (`REPLICATION_NODES`), or a local embedded cluster. */
export type ClusterSource =
  | { kind: 'external'; nodes: NodeSettings[] }
  | {
      kind: 'embedded';
      /** Folder holding one data folder per node; kept across restarts. */
      dataDir: string;
      /** The leader listens here, follower N on basePort + N (5445, 5446, 5447 by default, as in the tutorial). */
      basePort: number;
      followers: number;
      /**
       * Used only as root, when the `postgres` user the nodes run as cannot enter a folder above
       * the binaries or the data (a 0700 home): the binaries are copied here and the data kept here,
       * linked from `dataDir`. Only root may write it; every user must be able to enter it.
       */
      sharedDir: string;
    };

/** How many followers must prepare a write before the leader commits it. */
export type SyncMode = { kind: 'all' } | { kind: 'quorum'; quorum: number };

/**
 * Who may run operator-only operations (`ADMIN_TOKEN`): requests carrying
 * `Authorization: Bearer <token>`, or nobody (`off`).
 */
export type AdminAccess =
  | {
      kind: 'token';
      /** The secret. Never logged, except once at startup when it was generated. */
      token: string;
      /** True when ADMIN_TOKEN was unset and the token was made up for this run (embedded cluster only). */
      generated: boolean;
    }
  | { kind: 'off' };

/** What the HTTP server accepts, and from whom. */
export interface HttpSettings {
  /**
   * Schema introspection and the Apollo Sandbox landing page (`INTROSPECTION=true|false`; default
   * on, off with NODE_ENV=production: a production API need not describe itself to anyone).
   */
  introspection: boolean;
  /**
   * Apollo's cache-control hints and `Cache-Control` response headers (`CACHE_CONTROL=true|false`,
   * default off). Nothing in syncrep sets a hint, and the plugin wraps every field's resolver to
   * look for one: about 15% of a read's throughput (issue 17). Turn it on for hints of your own.
   */
  cacheControl: boolean;
  /**
   * Origins a browser may call the API from (`CORS_ORIGINS`: comma-separated origins such as
   * https://app.example.com, or *). Default: any origin; with NODE_ENV=production, none (same origin only).
   */
  corsOrigins: '*' | string[];
  /**
   * Largest request body, in bytes (`BODY_LIMIT_KB`, default 4096: the largest real request, a
   * createEmployees of 10,000 inputs with 200-character names, is about 2.6 MB).
   */
  bodyLimitBytes: number;
  /** Time a client has to send a whole request, headers and body, in ms (`REQUEST_TIMEOUT_MS`, default 30000). */
  requestTimeoutMs: number;
}

/** Every setting syncrep reads, parsed once from the environment by `loadSettings`. */
export interface Settings {
  /** HTTP port of the GraphQL server (`PORT`, default 4000). */
  port: number;
  /** Interface the HTTP server binds (`HOST`, default 127.0.0.1; 0.0.0.0 in containers). */
  host: string;
  /** `NODE_ENV=production` hides stack traces and internal messages from clients, and sets the defaults in `http`. */
  production: boolean;
  http: HttpSettings;
  /**
   * Port of the Prometheus endpoint `GET /metrics` on HOST (`METRICS_PORT`; unset or empty: no
   * endpoint). It carries write-path phase timings, batch sizes and the process's own metrics.
   */
  metricsPort: number | undefined;
  /** pino log level (`LOG_LEVEL`, default info). */
  logLevel: string;
  /**
   * Admin access (`ADMIN_TOKEN`: at least 16 visible ASCII characters). Unset with the embedded
   * cluster: a random token for this run, logged once at startup. Unset with `REPLICATION_NODES`:
   * off, so no secret is made up on a real deployment where nobody may read the log.
   */
  admin: AdminAccess;
  cluster: ClusterSource;
  sync: SyncMode;
  /** Client-side limit on every database call, in ms (`DB_TIMEOUT_MS`, default 5000). */
  dbTimeoutMs: number;
  /** Connections per node (`DB_POOL_SIZE`, default 20). */
  poolSize: number;
  /** Most mutations grouped into one distributed commit (`WRITE_BATCH_MAX`, default 64; 1 turns grouping off). */
  writeBatchMax: number;
  /** Distributed commits in flight at once (`WRITE_CONCURRENCY`, default 4). */
  writeConcurrency: number;
  /** How often the health monitor checks every node, in ms (`HEALTH_INTERVAL_MS`, default 1000). */
  healthIntervalMs: number;
  /** Limit on one health check, in ms (`HEALTH_TIMEOUT_MS`, default 1000). */
  healthTimeoutMs: number;
  /**
   * Longest a read with `readFrom.atLeast` waits for a node to apply that position before it tries
   * the next node or fails with POSITION_NOT_REACHED, in ms (`READ_WAIT_MS`, default 1000; 0: only
   * a node that has it already).
   */
  readWaitMs: number;
  /** Most log entries the leader keeps for a lagging follower (`LOG_RETENTION`, default 100000). */
  logRetention: number;
  /** Changes replayed per catch-up batch (`CATCHUP_BATCH`, default 1000). */
  catchupBatch: number;
  /**
   * Period of the background consistency check, in ms (`VERIFY_INTERVAL_MS`, default 0: off). It
   * compares the nodes as the `consistency` query does and marks a differing follower DIVERGED.
   */
  verifyIntervalMs: number;
  /**
   * Automatic failover (`AUTO_FAILOVER=true`, default off): once the leader has been unreachable
   * for `FAILOVER_AFTER_MS` (default 10000), the server promotes the best follower that is safe to
   * promote, never an unsafe one. Undefined when off. Meant for a single server process.
   */
  failoverAfterMs: number | undefined;
  /**
   * Seeds the tutorial's two rows (101 John, 102 Sam) through the write path at startup when the
   * cluster is new: no employee and no write ever taken (the position sequence unused) (`SEED_EXAMPLE_ROWS=true|false`;
   * default on for the embedded cluster, off with `REPLICATION_NODES`: those are someone else's data).
   */
  seedExampleRows: boolean;
  /**
   * Test-only fault point (`SYNCREP_FAULT_POINT`): `after-prepare`, `after-commit` or
   * `after-first-commit-prepared` (with two or more followers prepared), or `promote-after-claim`
   * / `promote-after-settle` (a promotion, once it claimed every node / settled), makes the
   * process SIGKILL itself at that step of the next write. Never set it in production.
   */
  faultPoint: FaultPoint | undefined;
}

export type FaultPoint = 'after-prepare' | 'after-commit' | 'after-first-commit-prepared' | 'promote-after-claim' | 'promote-after-settle';
