import { Syncrep } from '../../src/app';
import { loadSettings } from '../../src/config/load-settings';
import { createLogger } from '../../src/logger';
import type { LocalNodes } from '../../harness/nodes';

/** What every test server runs with, unless a test says otherwise: a free port on 127.0.0.1, quick health checks. */
export const TEST_SERVER_ENV: Readonly<Record<string, string>> = {
  PORT: '0',
  HOST: '127.0.0.1',
  DB_TIMEOUT_MS: '10000',
  HEALTH_INTERVAL_MS: '200',
  HEALTH_TIMEOUT_MS: '1000',
};

/** Starts a real syncrep server in this process on a free port, in front of `nodes`. */
export function startServer(nodes: LocalNodes, env: Record<string, string> = {}): Promise<Syncrep> {
  const settings = loadSettings({ REPLICATION_NODES: nodes.replicationNodes, ...TEST_SERVER_ENV, ...env });
  return Syncrep.start(settings, createLogger(env.LOG_LEVEL ?? 'silent'));
}

export interface GqlResponse<T = Record<string, any>> {
  data?: T | null;
  errors?: { message: string; extensions?: Record<string, any>; path?: (string | number)[] }[];
  extensions?: { replication?: { servedBy?: string | string[] | null } };
}

/** An ADMIN_TOKEN for test servers (`startServer(nodes, { ADMIN_TOKEN: TEST_ADMIN_TOKEN })`). */
export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789';

/** Quorum 1 of 2, admin on, a short database timeout and no health rounds: nothing catches up or is rebuilt on its own. */
export const QUIET_QUORUM_ONE: Readonly<Record<string, string>> = {
  SYNC_MODE: 'quorum',
  SYNC_QUORUM: '1',
  ADMIN_TOKEN: TEST_ADMIN_TOKEN,
  DB_TIMEOUT_MS: '2000',
  HEALTH_INTERVAL_MS: '600000',
};

/** Headers for `gql` that carry TEST_ADMIN_TOKEN, as an operator's client would. */
export const ADMIN_HEADERS: Readonly<Record<string, string>> = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` };

/** POSTs one GraphQL operation over HTTP, as a client would, with any extra `headers` (e.g. ADMIN_HEADERS). */
export async function gql<T = Record<string, any>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<GqlResponse<T>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json', 'apollo-require-preflight': 'true' },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as GqlResponse<T>;
}

/** The first error's code, or undefined. */
export function errorCode(response: GqlResponse): string | undefined {
  return response.errors?.[0]?.extensions?.code;
}
