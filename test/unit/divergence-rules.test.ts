import { confirmed, differingChunks, differingKeys, leaderIsOddOneOut, type FollowerDiff } from '../../src/replication/verify/chunk-diff';
import { judgeRefusals } from '../../src/replication/write/divergence';

describe('chunk diffing', () => {
  test('a chunk differs by count or checksum, or when one node lacks it; integer chunks sort numerically', () => {
    const leader = new Map([
      ['0', '1000:5'],
      ['9', '10:1'],
      ['10', '3:7'],
    ]);
    const follower = new Map([
      ['0', '1000:5'],
      ['9', '10:2'],
      ['11', '1:1'],
    ]);
    expect(differingChunks(leader, follower)).toEqual(['9', '10', '11']);
    expect(differingChunks(leader, new Map(leader))).toEqual([]);
  });

  test('rows differ when changed, missing or extra; `among` limits the comparison', () => {
    const leader = new Map([
      ['1', 10],
      ['2', 20],
      ['3', 30],
    ]);
    const follower = new Map([
      ['1', 10],
      ['2', 21],
      ['4', 40],
    ]);
    expect(differingKeys(leader, follower)).toEqual(['2', '3', '4']);
    expect(differingKeys(leader, follower, ['1', '3'])).toEqual(['3']);
  });

  test('only keys differing at both consistent points are confirmed', () => {
    expect(confirmed(['2', '3', '4'], ['3', '9'])).toEqual(['3']);
  });
});

describe('the leader as the odd one out', () => {
  const diff = (keys: string[], rows: [string, number | undefined][]): FollowerDiff => ({ keys, rows: new Map(rows) });

  test('two followers that differ from the leader in the same rows, holding the same there', () => {
    expect(leaderIsOddOneOut([diff(['emp/5'], [['emp/5', 7]]), diff(['emp/5'], [['emp/5', 7]])])).toBe(true);
  });

  test('not with one follower, nor when they differ in other rows or hold different things, nor when none differs', () => {
    expect(leaderIsOddOneOut([diff(['emp/5'], [['emp/5', 7]])])).toBe(false);
    expect(leaderIsOddOneOut([diff(['emp/5'], [['emp/5', 7]]), diff(['emp/6'], [['emp/6', 7]])])).toBe(false);
    expect(leaderIsOddOneOut([diff(['emp/5'], [['emp/5', 7]]), diff(['emp/5'], [['emp/5', 8]])])).toBe(false);
    expect(leaderIsOddOneOut([diff(['emp/5'], [['emp/5', 7]]), diff([], [])])).toBe(false);
    expect(leaderIsOddOneOut([diff([], []), diff([], [])])).toBe(false);
  });
});

describe('classifying refused prepares', () => {
  test('an IN_SYNC follower refusing with SR001 is suspect; other failures and other states are not', () => {
    const verdict = judgeRefusals(3, [
      { node: 'f1', sqlState: 'SR001', wasInSync: true },
      { node: 'f2', sqlState: '57014', wasInSync: true },
      { node: 'f3', sqlState: 'SR001', wasInSync: false },
    ]);
    expect(verdict).toEqual({ kind: 'followers', suspects: ['f1'] });
  });

  test('every targeted follower (two or more) refusing with SR001 suspects the leader', () => {
    const all = [
      { node: 'f1', sqlState: 'SR001', wasInSync: true },
      { node: 'f2', sqlState: 'SR001', wasInSync: true },
    ];
    expect(judgeRefusals(2, all)).toEqual({ kind: 'leader-suspect' });
    // One follower alone cannot out-vote the leader; two of three are not every follower.
    expect(judgeRefusals(1, all.slice(0, 1))).toEqual({ kind: 'followers', suspects: ['f1'] });
    expect(judgeRefusals(3, all)).toEqual({ kind: 'followers', suspects: ['f1', 'f2'] });
  });
});
