import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { DEFAULT_SHARED_DIR } from '../embedded/postgres-places';
import type { AdminAccess, ClusterSource, FaultPoint, HttpSettings, NodeSettings, Settings, SyncMode } from './settings';

/** A setting that cannot be used; the message names the setting and what to write instead. */
export class ConfigError extends Error {
  constructor(
    readonly setting: string,
    problem: string,
  ) {
    super(`${setting}: ${problem}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/**
 * Parses the environment into typed settings. This is the only place that reads `process.env`;
 * everything else receives `Settings`. Throws `ConfigError` on the first unusable value.
 */
export function loadSettings(env: Env = process.env): Settings {
  const cluster = parseCluster(env);
  const followers = cluster.kind === 'embedded' ? cluster.followers : cluster.nodes.length - 1;
  return {
    port: int(env, 'PORT', 4000, 0, 65535),
    host: env.HOST?.trim() || '127.0.0.1',
    production: env.NODE_ENV === 'production',
    http: parseHttp(env, env.NODE_ENV === 'production'),
    metricsPort: env.METRICS_PORT?.trim() ? int(env, 'METRICS_PORT', 0, 0, 65535) : undefined,
    logLevel: oneOf(env, 'LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
    admin: parseAdminAccess(env, cluster),
    cluster,
    sync: parseSyncMode(env, followers),
    dbTimeoutMs: int(env, 'DB_TIMEOUT_MS', 5000, 100, 600_000),
    poolSize: int(env, 'DB_POOL_SIZE', 20, 2, 1000),
    writeBatchMax: int(env, 'WRITE_BATCH_MAX', 64, 1, 10_000),
    writeConcurrency: int(env, 'WRITE_CONCURRENCY', 4, 1, 64),
    healthIntervalMs: int(env, 'HEALTH_INTERVAL_MS', 1000, 50, 3_600_000),
    healthTimeoutMs: int(env, 'HEALTH_TIMEOUT_MS', 1000, 50, 600_000),
    readWaitMs: int(env, 'READ_WAIT_MS', 1000, 0, 60_000),
    logRetention: int(env, 'LOG_RETENTION', 100_000, 1, 1_000_000_000),
    catchupBatch: int(env, 'CATCHUP_BATCH', 1000, 1, 100_000),
    verifyIntervalMs: int(env, 'VERIFY_INTERVAL_MS', 0, 0, 86_400_000),
    failoverAfterMs: parseAutoFailover(env, followers),
    // Example rows belong in a sandbox: someone else's nodes get them only when asked for.
    seedExampleRows: bool(env, 'SEED_EXAMPLE_ROWS', cluster.kind === 'embedded'),
    faultPoint: env.SYNCREP_FAULT_POINT
      ? oneOf<FaultPoint>(
          env,
          'SYNCREP_FAULT_POINT',
          ['after-prepare', 'after-commit', 'after-first-commit-prepared', 'promote-after-claim', 'promote-after-settle'],
          'after-prepare',
        )
      : undefined,
  };
}

function parseAutoFailover(env: Env, followers: number): number | undefined {
  const after = int(env, 'FAILOVER_AFTER_MS', 10_000, 100, 3_600_000);
  if (!bool(env, 'AUTO_FAILOVER', false)) return undefined;
  if (followers === 0)
    throw new ConfigError(
      'AUTO_FAILOVER',
      'needs at least one follower to promote; add one to REPLICATION_NODES or set AUTO_FAILOVER=false',
    );
  return after;
}

function parseHttp(env: Env, production: boolean): HttpSettings {
  return {
    introspection: bool(env, 'INTROSPECTION', !production),
    cacheControl: bool(env, 'CACHE_CONTROL', false),
    corsOrigins: parseOrigins(env, production),
    bodyLimitBytes: int(env, 'BODY_LIMIT_KB', 4096, 64, 102_400) * 1024,
    requestTimeoutMs: int(env, 'REQUEST_TIMEOUT_MS', 30_000, 1000, 600_000),
  };
}

function parseOrigins(env: Env, production: boolean): '*' | string[] {
  const raw = env.CORS_ORIGINS?.trim();
  if (raw === undefined || raw === '') return production ? [] : '*';
  if (raw === '*') return '*';
  return raw.split(',').map((entry) => {
    const origin = entry.trim();
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    if (!parsed || !['http:', 'https:'].includes(parsed.protocol) || parsed.origin !== origin) {
      throw new ConfigError(
        'CORS_ORIGINS',
        `"${origin}" is not an origin; write each as scheme://host[:port], e.g. https://app.example.com, or use *`,
      );
    }
    return origin;
  });
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  throw new ConfigError(name, `"${raw}" is not true or false`);
}

function parseCluster(env: Env): ClusterSource {
  const raw = env.REPLICATION_NODES;
  if (raw === undefined) {
    return {
      kind: 'embedded',
      dataDir: path.resolve(env.EMBEDDED_DATA_DIR?.trim() || '.syncrep-data'),
      basePort: int(env, 'EMBEDDED_BASE_PORT', 5445, 1, 65000),
      followers: int(env, 'EMBEDDED_FOLLOWERS', 2, 0, 16),
      sharedDir: absolutePath(env, 'EMBEDDED_SHARED_DIR', DEFAULT_SHARED_DIR),
    };
  }
  return { kind: 'external', nodes: parseNodeList(raw) };
}

/** Parses `name=url,name=url`; the first node is the leader. */
export function parseNodeList(raw: string): NodeSettings[] {
  const setting = 'REPLICATION_NODES';
  const entries = raw
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  if (entries.length === 0) {
    throw new ConfigError(setting, 'is empty; give at least the leader as name=postgres://user:password@host:port/database');
  }
  const seen = new Set<string>();
  return entries.map((entry, index) => {
    const eq = entry.indexOf('=');
    if (eq <= 0) {
      throw new ConfigError(setting, `entry ${index + 1} has no name; write it as name=postgres://user:password@host:port/database`);
    }
    const name = entry.slice(0, eq).trim();
    const url = entry.slice(eq + 1).trim();
    if (!/^[A-Za-z0-9_-]{1,63}$/.test(name)) {
      throw new ConfigError(setting, `node name "${name}" may only use letters, digits, "-" and "_" (at most 63)`);
    }
    if (seen.has(name)) throw new ConfigError(setting, `node name "${name}" appears twice; every node needs its own name`);
    seen.add(name);
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new ConfigError(setting, `node "${name}" has a malformed URL; expected postgres://user:password@host:port/database`);
    }
    if (!['postgres:', 'postgresql:'].includes(parsed.protocol) || !parsed.hostname || parsed.pathname.length < 2) {
      throw new ConfigError(
        setting,
        `node "${name}" URL must look like postgres://user:password@host:port/database (scheme, host and database are required)`,
      );
    }
    return { name, url };
  });
}

/** Shortest ADMIN_TOKEN accepted: shorter ones can be guessed. */
const ADMIN_TOKEN_MIN_LENGTH = 16;

/**
 * ADMIN_TOKEN, checked without ever putting its value in a message. Unset (or empty, like the other
 * settings) means a token generated for this run with the embedded cluster, and off with
 * REPLICATION_NODES.
 */
function parseAdminAccess(env: Env, cluster: ClusterSource): AdminAccess {
  const token = env.ADMIN_TOKEN;
  if (token === undefined || token === '') {
    if (cluster.kind === 'external') return { kind: 'off' };
    return { kind: 'token', token: randomBytes(24).toString('base64url'), generated: true };
  }
  // It travels in an HTTP header, which carries visible ASCII; a space would also split it from "Bearer".
  if (!/^[\x21-\x7e]+$/.test(token)) {
    throw new ConfigError('ADMIN_TOKEN', 'must be visible ASCII characters only: no whitespace, control characters or non-ASCII letters');
  }
  if (token.length < ADMIN_TOKEN_MIN_LENGTH) {
    throw new ConfigError(
      'ADMIN_TOKEN',
      `is ${token.length} characters; use at least ${ADMIN_TOKEN_MIN_LENGTH} (e.g. node -p "require('node:crypto').randomBytes(24).toString('base64url')")`,
    );
  }
  return { kind: 'token', token, generated: false };
}

function parseSyncMode(env: Env, followers: number): SyncMode {
  const mode = oneOf(env, 'SYNC_MODE', ['all', 'quorum'], 'all');
  if (mode === 'all') {
    if (env.SYNC_QUORUM !== undefined) throw new ConfigError('SYNC_QUORUM', 'is only used with SYNC_MODE=quorum');
    return { kind: 'all' };
  }
  if (env.SYNC_QUORUM === undefined) throw new ConfigError('SYNC_QUORUM', 'is required with SYNC_MODE=quorum');
  if (followers < 1) throw new ConfigError('SYNC_MODE', 'quorum needs at least one follower');
  return { kind: 'quorum', quorum: int(env, 'SYNC_QUORUM', 1, 1, followers) };
}

/** An absolute path: a relative one would be resolved in the project folder, the very place that may be out of reach. */
function absolutePath(env: Env, name: string, fallback: string): string {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  if (!path.isAbsolute(raw)) throw new ConfigError(name, `"${raw}" is not an absolute path (e.g. /var/lib/syncrep)`);
  return path.normalize(raw);
}

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `"${raw}" is not a whole number (expected ${min}..${max})`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `${value} is out of range (expected ${min}..${max})`);
  return value;
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(name, `"${raw}" is not one of ${allowed.join(', ')}`);
  }
  return raw as T;
}
