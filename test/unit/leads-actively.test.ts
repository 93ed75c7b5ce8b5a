import { leadsActivelyAt } from '../../src/replication/failover/epoch';

describe('leadsActivelyAt: whether a node may be caught up from, or copied from', () => {
  const active = { epoch: '3', leader: 'follower-2', state: 'active' as const };

  it('holds for the active leader of the epoch', () => {
    expect(leadsActivelyAt(active, 3n, 'follower-2')).toBe(true);
  });

  it('refuses a leader still being promoted (claimed, not yet active)', () => {
    expect(leadsActivelyAt({ ...active, state: 'promoting' as const }, 3n, 'follower-2')).toBe(false);
  });

  it('refuses another epoch, older or newer, and another leader', () => {
    expect(leadsActivelyAt(active, 2n, 'follower-2')).toBe(false);
    expect(leadsActivelyAt(active, 4n, 'follower-2')).toBe(false);
    expect(leadsActivelyAt(active, 3n, 'leader')).toBe(false);
  });
});
