import { gql } from './server';

/** What a client was told about each write: success, "nothing was written", or that the outcome is unknown. */
export interface Outcomes<K> {
  acknowledged: K[];
  failed: K[];
  unknown: K[];
}

/** Sends one mutation and files `key` under what the answer said (a lost HTTP answer is unknown). */
export async function record<K>(
  outcomes: Outcomes<K>,
  key: K,
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<void> {
  try {
    const result = await gql(url, query, variables);
    if (!result.errors) outcomes.acknowledged.push(key);
    else if (result.errors[0].extensions?.outcomeUnknown === true) outcomes.unknown.push(key);
    else outcomes.failed.push(key);
  } catch (error) {
    // Only a lost answer (the server killed or paused mid-request) leaves the outcome unknown; any
    // other failure here is the test's own and must surface.
    if (!lostAnswer(error)) throw error;
    outcomes.unknown.push(key);
  }
}

/**
 * fetch's failure for a connection refused, reset or closed before the whole answer came (undici:
 * `fetch failed`, or `terminated` for a body cut short). Duck-typed: fetch's errors come from
 * Node's own realm, not the test's, so `instanceof Error` does not hold for them under jest.
 */
function lostAnswer(error: unknown): boolean {
  const { message, cause } = (error ?? {}) as { message?: unknown; cause?: { code?: unknown } };
  if (message === 'fetch failed' || message === 'terminated') return true;
  return typeof cause?.code === 'string' && /^(ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|UND_ERR_)/.test(cause.code);
}

/** Runs `lanes` clients, each sending `next(lane, i)` until `stop()`. */
export function load<K>(url: string, lanes: number, next: (lane: number, i: number) => { key: K; query: string } | undefined) {
  const outcomes: Outcomes<K> = { acknowledged: [], failed: [], unknown: [] };
  let running = true;
  const done = Promise.all(
    Array.from({ length: lanes }, async (_, lane) => {
      for (let i = 0; running; i++) {
        const op = next(lane, i);
        if (op) await record(outcomes, op.key, url, op.query);
      }
    }),
  );
  return { outcomes, stop: async () => ((running = false), await done) };
}
