import { copyOrder } from '../../src/replication/recovery/copy-order';

describe('copyOrder: the order a rebuild inserts replicated tables in', () => {
  test('a table comes after every table it refers to, whatever order they are given in', () => {
    expect(
      copyOrder([
        { table: 'emp', references: ['department'] },
        { table: 'assignment', references: ['emp', 'project'] },
        { table: 'department', references: [] },
        { table: 'project', references: ['department'] },
      ]),
    ).toEqual(['department', 'emp', 'project', 'assignment']);
  });

  test('tables without keys between them keep the given order; a self-reference and a table not replicated are ignored', () => {
    expect(
      copyOrder([
        { table: 'b', references: ['b'] },
        { table: 'a', references: ['outside'] },
      ]),
    ).toEqual(['b', 'a']);
  });

  test('a cycle between tables is refused, naming the tables in it', () => {
    expect(() =>
      copyOrder([
        { table: 'a', references: ['b'] },
        { table: 'b', references: ['c'] },
        { table: 'c', references: ['a'] },
      ]),
    ).toThrow('replicated tables refer to each other in a cycle (a -> b -> c -> a): a rebuild cannot copy them in order');
  });
});
