import { ACCOUNTS, staleServerFailover } from './scenarios/stale-server-failover';

/**
 * Two servers, one SIGSTOPped across a manual promotion, the old leader restarted at once while
 * load goes on through both: the deposed leader comes back by itself, and every node (the
 * rebuilt one too) holds every acknowledged write, no refused one, and the same rows. Looped by
 * `npm run soak:failover`.
 */
test('a stale server across a promotion: the deposed leader rejoins by itself and every node, the rebuilt one too, keeps every acknowledged write and no refused one', async () => {
  const run = await staleServerFailover();
  const everywhere = <T>(value: T) => ({ leader: value, 'follower-1': value, 'follower-2': value });
  expect(run.totals).toEqual(everywhere(ACCOUNTS * 1000));
  expect(run.missingAcknowledged).toEqual(everywhere([]));
  expect(run.presentRefused).toEqual(everywhere([]));
  expect(run.prepared).toEqual(everywhere([]));
  expect(run.differing).toEqual([]);
  const inService = { leader: 'IN_SYNC', 'follower-1': 'IN_SYNC', 'follower-2': 'UP' };
  expect(run.views).toEqual({
    A: { leader: 'follower-2', states: inService, epoch: '1' },
    B: { leader: 'follower-2', states: inService, epoch: '1' },
  });
  expect(run.creates.acknowledged.length).toBeGreaterThan(0);
  // The stale server writes again once it follows the promotion.
  expect(run.staleAcknowledged).toBeGreaterThan(0);
}, 240_000);
