import { mergeChanges } from '../../src/replication/write/change-set';
import type { Change } from '../../src/replication/change';

const shape = { table: 'emp', key: ['id'], columns: ['id', 'name', 'salary'] };
const row = (id: number, salary: number) => ({ id, name: `e${id}`, salary });
const update = (before: [number, number][], after: [number, number][]): Change => ({
  ...shape,
  op: 'update',
  before: before.map(([id, s]) => row(id, s)),
  rows: after.map(([id, s]) => row(id, s)),
});

test('neighbouring updates become one change, a row updated twice going from its first before image to its last after image', () => {
  const merged = mergeChanges([
    update(
      [
        [1, 10],
        [2, 20],
      ],
      [
        [1, 5],
        [2, 25],
      ],
    ),
    update([[1, 5]], [[1, 7]]),
    update([[3, 30]], [[3, 31]]),
  ]);
  expect(merged).toHaveLength(1);
  expect(merged[0].rows).toEqual([row(1, 7), row(2, 25), row(3, 31)]);
  expect(merged[0].before).toEqual([row(1, 10), row(2, 20), row(3, 30)]);
});

test('order across kinds and tables is kept; inserts and deletes are concatenated', () => {
  const insert: Change = { ...shape, op: 'insert', rows: [row(9, 1)] };
  const del: Change = { ...shape, op: 'delete', rows: [row(9, 1)] };
  const merged = mergeChanges([insert, { ...insert, rows: [row(8, 1)] }, update([[9, 1]], [[9, 2]]), del]);
  expect(merged.map((c) => c.op)).toEqual(['insert', 'update', 'delete']);
  expect(merged[0].rows).toEqual([row(9, 1), row(8, 1)]);
});

test('merging does not change the changes it was given', () => {
  const first = update([[1, 10]], [[1, 11]]);
  mergeChanges([first, update([[1, 11]], [[1, 12]])]);
  expect(first.rows).toEqual([row(1, 11)]);
  expect(first.before).toEqual([row(1, 10)]);
});

test('a row updated, then given a new key, is one pair from where it started to where it ended', () => {
  const a = { id: 1, name: 'a', salary: 10 };
  const aPaid = { id: 1, name: 'a', salary: 11 };
  const aMoved = { id: 5, name: 'a', salary: 11 };
  const b = { id: 2, name: 'b', salary: 20 };
  const bPaid = { id: 2, name: 'b', salary: 21 };
  const merged = mergeChanges([
    { ...shape, op: 'update', before: [a, b], rows: [aPaid, bPaid] },
    { ...shape, op: 'update', before: [aPaid], rows: [aMoved] },
  ]);
  // Followers find each row by the key of its before image, and can update a row once per statement.
  expect(merged[0].before).toEqual([b, a]);
  expect(merged[0].rows).toEqual([bPaid, aMoved]);
});
