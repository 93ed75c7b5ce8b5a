import 'reflect-metadata';
import { Client } from 'pg';
import type { Syncrep } from '../../src/app';
import { employeeWrites } from '../../src/employee/employee.mutations';
import { LocalNodes } from '../../harness/nodes';
import { startServer } from '../support/server';
import { waitFor } from '../support/wait';
import { writeFor } from '../property/write-ops';

let nodes: LocalNodes;
let app: Syncrep;
beforeAll(async () => {
  nodes = await LocalNodes.start(1);
  app = await startServer(nodes, { WRITE_CONCURRENCY: '1', LOG_LEVEL: 'silent' });
  await app.service.write(
    employeeWrites.createMany([
      { id: 1, name: 'a', salary: 1000 },
      { id: 99, name: 'hold', salary: 0 },
    ]),
  );
});
afterAll(async () => {
  await app?.stop();
  await nodes?.stop();
});

test.each([
  [
    [
      { kind: 'add', account: 1, amount: 5 },
      { kind: 'withdraw', account: 1, amount: 10 },
    ],
  ],
  [
    [
      { kind: 'withdraw', account: 1, amount: 10 },
      { kind: 'add', account: 1, amount: 5 },
    ],
  ],
  [
    [
      { kind: 'add', account: 1, amount: 5 },
      { kind: 'withdraw', account: 1, amount: 10 },
      { kind: 'add', account: 1, amount: 7 },
    ],
  ],
])('%j', async (ops: any) => {
  const holder = new Client({ connectionString: nodes.node('leader').url });
  await holder.connect();
  await holder.query('BEGIN; SELECT 1 FROM emp WHERE id = 99 FOR UPDATE');
  const running = app.service.write(employeeWrites.update(99, { salary: 1 }));
  await waitFor(async () => {
    await holder.query('SELECT pg_stat_clear_snapshot()');
    return ((await holder.query('SELECT 1 FROM pg_stat_activity WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))')).rowCount ?? 0) >= 1;
  }, 'held');
  const results = ops.map((op: any, i: number) =>
    app.service.write(writeFor(op, 1000 + i)).then(
      () => 'ok',
      (e: any) => `${e.extensions?.code} ${e.message}`,
    ),
  );
  await holder.query('COMMIT');
  await holder.end();
  await running;
  console.log(JSON.stringify(ops), await Promise.all(results));
  expect(await nodes.rows('follower-1')).toEqual(await nodes.rows('leader'));
});
