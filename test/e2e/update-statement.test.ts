import 'reflect-metadata';
import type { DataSource } from 'typeorm';
import { buildDataSource } from '../../ormconfig';
import type { Syncrep } from '../../src/app';
import { Employee } from '../../src/employee/employee.entity';
import { BEFORE_IMAGE, increment, updateStatement } from '../../src/replication/entities/entity-sql';
import { LocalNodes } from '../../harness/nodes';
import { startServer } from '../support/server';
import { lockWaitOn, sessionOn } from '../support/row-locks';

// Both forms of the leader's UPDATE: `RETURNING old` (PostgreSQL 18) and lock-first (before 18,
// e.g. the compose file's postgres:15). The embedded nodes are 18, so both run here.
let nodes: LocalNodes;
let app: Syncrep;
let dataSource: DataSource;

beforeAll(async () => {
  nodes = await LocalNodes.start(0);
  app = await startServer(nodes);
  dataSource = buildDataSource(
    { name: 'leader', url: nodes.node('leader').url },
    { poolSize: 2, timeoutMs: 5000, applicationName: 'test' },
  );
  await dataSource.initialize();
  await nodes.query('leader', "INSERT INTO emp (id, name, salary) VALUES (9001, 'U', 100) ON CONFLICT DO NOTHING");
});
afterAll(async () => {
  await dataSource?.destroy();
  await app?.stop();
  await nodes?.stop();
});

const salary = async () => (await nodes.query<{ salary: number }>('leader', 'SELECT salary FROM emp WHERE id = 9001'))[0].salary;

describe.each([
  ['RETURNING old (PostgreSQL 18)', true],
  ['locking first (before 18)', false],
])('the leader update, %s', (_, returnsOld) => {
  test('returns the new row and the row it replaced', async () => {
    const before = await salary();
    const { sql } = updateStatement<Employee>(dataSource.getMetadata(Employee), { id: 9001 }, { salary: increment(5) }, returnsOld);
    const [row] = await nodes.query<Record<string, any>>('leader', sql);
    expect(row).toMatchObject({ id: 9001, name: 'U', salary: before + 5 });
    expect(row[BEFORE_IMAGE]).toEqual({ id: 9001, name: 'U', salary: before, department_id: null });
  });

  test('an update that waited on a concurrent one returns the row that one committed as its prior image', async () => {
    const [blocker, waiter] = [await sessionOn(nodes, 'leader'), await sessionOn(nodes, 'leader')];
    try {
      await blocker.query('BEGIN');
      await blocker.query('UPDATE emp SET salary = salary + 1 WHERE id = 9001');
      const left = (await blocker.query<{ salary: number }>('UPDATE emp SET salary = salary + 10 WHERE id = 9001 RETURNING salary')).rows[0]
        .salary;
      const { sql } = updateStatement<Employee>(dataSource.getMetadata(Employee), { id: 9001 }, { salary: increment(100) }, returnsOld);
      const waiting = waiter.query(sql);
      await lockWaitOn(nodes, 'leader', 'the update waiting on the row', blocker);
      await blocker.query('COMMIT');
      const [row] = (await waiting).rows;
      expect(row[BEFORE_IMAGE]).toEqual({ id: 9001, name: 'U', salary: left, department_id: null });
      expect(row.salary).toBe(left + 100);
    } finally {
      await blocker.end();
      await waiter.end();
    }
  });
});
