import 'reflect-metadata';
import { Column, DataSource, Entity, PrimaryColumn } from 'typeorm';
import { FollowerNode } from '../../src/replication/nodes/cluster-node';
import { KeyReadBatcher, NodeStoppedServing } from '../../src/replication/read/key-read-batcher';
import { ReadStatements } from '../../src/replication/read/read-statements';
import { Department } from '../../src/department/department.entity';
import { Employee } from '../../src/employee/employee.entity';

/** Read statements' names and the batcher's choices, on TypeORM's own metadata built without a connection. */
@Entity({ name: 'a_table_whose_name_takes_nearly_all_of_the_63_bytes_allowed_x' })
class LongNamed {
  @PrimaryColumn('int') id!: number;
  @Column('text', { name: 'a_column_whose_name_is_long_too_and_would_push_a_name_past_63' }) note!: string;
}

let dataSource: DataSource;

beforeAll(async () => {
  dataSource = new DataSource({ type: 'postgres', entities: [Employee, Department, LongNamed] });
  await (dataSource as unknown as { buildMetadatas(): Promise<void> }).buildMetadatas();
});

test('every read statement of a table with a long name has its own name within the 63 bytes PostgreSQL keeps', () => {
  const statements = new ReadStatements();
  const metadata = dataSource.getMetadata(LongNamed);
  const column = metadata.findColumnWithPropertyName('note')!;
  const reads = [
    statements.byKeys(metadata, [1]),
    statements.page(metadata, null, 5),
    statements.page(metadata, 1, 5),
    statements.byColumn(metadata, column, ['x']),
  ];
  const all = [...reads, ...reads.map((r) => statements.atPosition(metadata, r, 7n))];
  const names = all.map((s) => s.name);
  expect(new Set(names).size).toBe(names.length);
  for (const name of names) expect(Buffer.byteLength(name)).toBeLessThanOrEqual(63);
  // Another table gets names of its own.
  const other = statements.byKeys(dataSource.getMetadata(Employee), [1]).name;
  expect(names).not.toContain(other);
});

test('only keys spelt as PostgreSQL gives them back, and in the column range, are grouped', () => {
  const node = new FollowerNode('follower-1', {} as DataSource, 'postgres://f1');
  const batcher = new KeyReadBatcher(node, () => true, new ReadStatements(), { concurrency: 1, batchMax: 8 }, { batch: () => undefined });
  const metadata = dataSource.getMetadata(Employee);
  const grouped = (key: string | number) => batcher.batches(metadata, key);
  expect([5, '5', -3, 2147483647, -2147483648].map(grouped)).toEqual([true, true, true, true, true]);
  expect(['05', '-0', '+5', ' 5', 2147483648, -2147483649, 1.5, 'x'].map(grouped)).toEqual([
    false,
    false,
    false,
    false,
    false,
    false,
    false,
    false,
  ]);
});

test('a batch whose node was found down while it waited fails at once, naming why, without asking the node', async () => {
  const node = new FollowerNode('follower-1', {} as DataSource, 'postgres://f1');
  node.state = { kind: 'DOWN', reason: 'refused' };
  const batcher = new KeyReadBatcher(node, () => true, new ReadStatements(), { concurrency: 1, batchMax: 8 }, { batch: () => undefined });
  const metadata = dataSource.getMetadata(Employee);
  const failure = await batcher.load(metadata, 5).catch((error: Error) => error);
  expect(failure).toBeInstanceOf(NodeStoppedServing);
  expect((failure as Error).message).toMatch(/^node "follower-1" stopped serving reads while they waited: /);
  // A node object a role change replaced, whatever state it was left in.
  node.state = { kind: 'IN_SYNC' };
  const replaced = new KeyReadBatcher(node, () => false, new ReadStatements(), { concurrency: 1, batchMax: 8 }, { batch: () => undefined });
  expect((await replaced.load(metadata, 5).catch((error: Error) => error.message)) as string).toMatch(/its role changed$/);
});
