import { schemaDifference, type TableSchema } from '../../src/replication/nodes/schema-check';

const emp: TableSchema = {
  table: 'emp',
  columns: [
    { name: 'id', type: 'integer', notNull: true },
    { name: 'name', type: 'text', notNull: true },
  ],
  constraints: ['PRIMARY KEY (id)'],
};

test('the same tables: no difference', () => {
  expect(schemaDifference(['emp'], [emp], [structuredClone(emp)])).toBeUndefined();
});

test.each([
  [
    'a column added here',
    { ...emp, columns: [...emp.columns, { name: 'extra', type: 'integer', notNull: false }] },
    'table emp, column extra (number 3): here only',
  ],
  ['a column missing here', { ...emp, columns: emp.columns.slice(0, 1) }, 'table emp, column name (number 2): missing here'],
  [
    'columns in another order',
    { ...emp, columns: [...emp.columns].reverse() },
    'table emp, column number 1: name here, id on the leader; table emp, column number 2: id here, name on the leader',
  ],
  [
    'another type',
    { ...emp, columns: [emp.columns[0], { name: 'name', type: 'character varying(10)', notNull: true }] },
    'table emp, column name: character varying(10) here, text on the leader',
  ],
  [
    'nullable here',
    { ...emp, columns: [emp.columns[0], { name: 'name', type: 'text', notNull: false }] },
    'table emp, column name: nullable here, not on the leader',
  ],
  ['no primary key here', { ...emp, constraints: [] }, 'table emp: PRIMARY KEY (id) missing here'],
  ['a unique constraint here only', { ...emp, constraints: [...emp.constraints, 'UNIQUE (name)'] }, 'table emp: UNIQUE (name) here only'],
])('%s: named, with the table and column', (_what, node, message) => {
  expect(schemaDifference(['emp'], [emp], [node])).toBe(message);
});

test('a table missing on either side is named', () => {
  expect(schemaDifference(['emp'], [emp], [])).toBe('table emp: missing here');
  expect(schemaDifference(['emp'], [], [emp])).toBe('table emp: missing on the leader');
});
