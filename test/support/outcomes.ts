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
  } catch {
    outcomes.unknown.push(key);
  }
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
