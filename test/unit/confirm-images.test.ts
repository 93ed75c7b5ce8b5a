import type { Change } from '../../src/replication/change';
import { finalImages } from '../../src/replication/sql/confirm-sql';

/** What the leader's confirm step expects each touched key to hold once a whole batch has run. */
const shape = { table: 'emp', key: ['id'], columns: ['id', 'name'] };
const insert = (...rows: [number, string][]): Change => ({ ...shape, op: 'insert', rows: rows.map(([id, name]) => ({ id, name })) });
const del = (...ids: number[]): Change => ({ ...shape, op: 'delete', rows: ids.map((id) => ({ id, name: 'x' })) });
const update = (...pairs: [[number, string], [number, string]][]): Change => ({
  ...shape,
  op: 'update',
  rows: pairs.map(([, [id, name]]) => ({ id, name })),
  before: pairs.map(([[id, name]]) => ({ id, name })),
});
const images = (changes: Change[]) => finalImages(changes)[0].images;

test('the last change to a key wins: created then deleted is absent; deleted then re-created holds the new row', () => {
  expect(images([insert([1, 'a']), del(1)])).toEqual([{ key: { id: 1 }, row: undefined }]);
  expect(images([del(2), insert([2, 'b'])])).toEqual([{ key: { id: 2 }, row: { id: 2, name: 'b' } }]);
});

test('an update that moves a row clears its old key; rows of one statement may swap keys', () => {
  expect(
    images([
      update([
        [1, 'a'],
        [5, 'a'],
      ]),
    ]),
  ).toEqual([
    { key: { id: 1 }, row: undefined },
    { key: { id: 5 }, row: { id: 5, name: 'a' } },
  ]);
  const swapped = images([
    update(
      [
        [1, 'a'],
        [2, 'a'],
      ],
      [
        [2, 'b'],
        [1, 'b'],
      ],
    ),
  ]);
  expect(swapped).toEqual([
    { key: { id: 1 }, row: { id: 1, name: 'b' } },
    { key: { id: 2 }, row: { id: 2, name: 'a' } },
  ]);
});

test('tables are kept apart', () => {
  const other: Change = { table: 'other', key: ['id'], columns: ['id'], op: 'insert', rows: [{ id: 1 }] };
  expect(finalImages([insert([1, 'a']), other]).map((t) => [t.shape.table, t.images.length])).toEqual([
    ['emp', 1],
    ['other', 1],
  ]);
});
