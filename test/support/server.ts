import type { GqlResponse } from '../../harness/test-cluster';

export { TEST_SERVER_ENV, startServer, type GqlResponse } from '../../harness/test-cluster';

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
