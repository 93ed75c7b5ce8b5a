import { promotionThreshold, unsafeReasons, type NodeProbe } from '../../src/replication/failover/promotion-rules';

const up = (name: string, extra: Partial<NodeProbe> = {}): NodeProbe => ({
  name,
  reachable: true,
  epoch: 0n,
  mark: null,
  watermark: 0n,
  trimmed: 0n,
  ...extra,
});
const down = (name: string): NodeProbe => ({ name, reachable: false });
const quorum = (k: number) => ({ kind: 'quorum' as const, quorum: k });

test('a promotion must reach F - k + 1 followers in quorum mode, one unmarked in all mode', () => {
  expect(promotionThreshold(quorum(1), 2)).toBe(2);
  expect(promotionThreshold(quorum(2), 3)).toBe(2);
  expect(promotionThreshold(quorum(3), 3)).toBe(1);
  expect(promotionThreshold({ kind: 'all' }, 5)).toBe(1);
});

test('quorum 1 of 2: the other follower unreachable is unsafe (a write may be there alone)', () => {
  const candidate = up('f1');
  expect(unsafeReasons(quorum(1), candidate, [candidate, down('f2')])).toEqual([
    expect.stringMatching(/only 1 of 2 followers are reachable.*2 must be reached/),
  ]);
  expect(unsafeReasons(quorum(1), candidate, [candidate, up('f2')])).toEqual([]);
  expect(unsafeReasons(quorum(2), candidate, [candidate, down('f2')])).toEqual([]);
});

test('all mode: any unmarked follower is enough, whatever the others', () => {
  const candidate = up('f1');
  expect(unsafeReasons({ kind: 'all' }, candidate, [candidate, down('f2'), down('f3')])).toEqual([]);
});

test('a marked, unfit, stale or trimmed-past candidate is unsafe in either mode', () => {
  for (const mode of [{ kind: 'all' as const }, quorum(1)]) {
    const others = [up('f2')];
    expect(unsafeReasons(mode, up('f1', { mark: 'rebuilding' }), [up('f1', { mark: 'rebuilding' }), ...others])[0]).toMatch(
      /being rebuilt/,
    );
    expect(unsafeReasons(mode, up('f1', { mark: 'diverged' }), [up('f1', { mark: 'diverged' }), ...others])[0]).toMatch(/diverged/);
    // Found behind (a write it refused or missed): writes were acknowledged without it.
    expect(unsafeReasons(mode, up('f1', { mark: 'behind' }), [up('f1', { mark: 'behind' }), ...others])[0]).toMatch(/behind/);
    expect(unsafeReasons(mode, up('f1', { unfitHere: 'is DIVERGED here' }), [up('f1'), ...others])[0]).toMatch(/DIVERGED here/);
    expect(unsafeReasons(mode, up('f1'), [up('f1'), up('f2', { epoch: 1n })])[0]).toMatch(/a promotion did not reach it/);
    expect(unsafeReasons(mode, up('f1', { watermark: 5n }), [up('f1', { watermark: 5n }), up('f2', { trimmed: 9n })])[0]).toMatch(
      /trimmed up to 9/,
    );
  }
});
