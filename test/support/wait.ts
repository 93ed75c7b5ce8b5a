import { gql } from './server';

/**
 * Polls `check` until it holds; fails the test after `timeoutMs` (a bound, not a speed claim),
 * with what `describe` says of the state it ended in.
 */
export async function waitFor(
  check: () => Promise<boolean>,
  what: string,
  timeoutMs = 30_000,
  describe?: () => Promise<string>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}${describe ? `; ${await describe()}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Waits until the server reports the leader UP and every follower IN_SYNC. */
export function waitAllInSync(url: string, timeoutMs = 60_000): Promise<void> {
  return waitFor(
    async () => {
      const result = await gql(url, '{ nodes { state } }').catch(() => undefined);
      return !!result?.data?.nodes.every((n: { state: string }) => n.state === 'UP' || n.state === 'IN_SYNC');
    },
    'every node UP or IN_SYNC',
    timeoutMs,
  );
}
