import {
  differingChunks,
  differingKeys,
  leaderOddRows,
  settledDifferences,
  type FollowerDiff,
} from '../../src/replication/verify/chunk-diff';
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

  test('only keys differing at both consistent points, each side holding the same row both times, are settled', () => {
    const at = (leader: [string, number][], follower: [string, number][]) => ({ leader: new Map(leader), follower: new Map(follower) });
    const first = at(
      [
        ['2', 1],
        ['3', 1],
        ['4', 1],
        ['5', 1],
      ],
      [
        ['2', 2],
        ['3', 2],
        ['4', 2],
        ['5', 2],
      ],
    );
    // 2: the same difference twice; 3: the leader's row moved on (a write in flight); 4: the follower's did; 5: now equal.
    const second = at(
      [
        ['2', 1],
        ['3', 9],
        ['4', 1],
        ['5', 1],
      ],
      [
        ['2', 2],
        ['3', 2],
        ['4', 9],
        ['5', 1],
      ],
    );
    expect(settledDifferences(['2', '3', '4', '5'], first, second)).toEqual(['2']);
  });
});

describe('the leader as the odd one out', () => {
  const diff = (keys: string[], rows: [string, number | undefined][]): FollowerDiff => ({ keys, rows: new Map(rows) });

  test('rows where two followers both differ from the leader, holding the same there', () => {
    expect(leaderOddRows([diff(['emp/5'], [['emp/5', 7]]), diff(['emp/5'], [['emp/5', 7]])])).toEqual(['emp/5']);
  });

  test('decided row by row: a follower that differs elsewhere too still votes on the rows it shares', () => {
    const diverged = diff(
      ['emp/9', 'emp/10', 'emp/42'],
      [
        ['emp/9', 1],
        ['emp/10', 1],
        ['emp/42', 7],
      ],
    );
    expect(leaderOddRows([diverged, diff(['emp/42'], [['emp/42', 7]])])).toEqual(['emp/42']);
  });

  test('not with one follower, nor where they differ in other rows or hold different things, nor when none differs', () => {
    expect(leaderOddRows([diff(['emp/5'], [['emp/5', 7]])])).toEqual([]);
    expect(leaderOddRows([diff(['emp/5'], [['emp/5', 7]]), diff(['emp/6'], [['emp/6', 7]])])).toEqual([]);
    expect(leaderOddRows([diff(['emp/5'], [['emp/5', 7]]), diff(['emp/5'], [['emp/5', 8]])])).toEqual([]);
    expect(leaderOddRows([diff(['emp/5'], [['emp/5', 7]]), diff([], [])])).toEqual([]);
    expect(leaderOddRows([diff([], []), diff([], [])])).toEqual([]);
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
