import 'reflect-metadata';
import type { Syncrep } from '../../src/app';
import { LocalNodes } from '../../harness/nodes';
import { gql, startServer } from '../support/server';

/**
 * Entries logged before migration 0009 carry emp's old shape (no department_id, no sequences):
 * catch-up must still replay them onto a follower that has the new table.
 */
let nodes: LocalNodes;
let app: Syncrep;

beforeAll(async () => {
  nodes = await LocalNodes.start(1);
  app = await startServer(nodes, { HEALTH_INTERVAL_MS: '60000' });
});

afterAll(async () => {
  await app?.stop();
  await nodes?.stop();
});

type Change = { columns: string[]; rows: Record<string, unknown>[]; before?: Record<string, unknown>[] };
const withoutDepartment = (row: Record<string, unknown>) => Object.fromEntries(Object.entries(row).filter(([k]) => k !== 'department_id'));

test('entries logged in the shape before department replay onto a follower with the new table', async () => {
  const created = await gql(app.url, 'mutation { createEmployee(input: { id: 70, name: "Old", salary: 1 }) { position } }');
  const updated = await gql(app.url, 'mutation { updateEmployee(id: 70, input: { salary: 2 }) { position } }');
  const positions = [created.data!.createEmployee.position, updated.data!.updateEmployee.position].map((p: string) => BigInt(p).toString());
  // The leader's log entries as the code before department wrote them.
  for (const position of positions) {
    const [{ changes }] = await nodes.query<{ changes: Change[] }>('leader', 'SELECT changes FROM syncrep_log WHERE position = $1', [
      position,
    ]);
    expect(changes[0].columns).toContain('department_id');
    const old = changes.map((c) => ({
      ...c,
      columns: c.columns.filter((k) => k !== 'department_id'),
      rows: c.rows.map(withoutDepartment),
      ...(c.before ? { before: c.before.map(withoutDepartment) } : {}),
    }));
    await nodes.query('leader', 'UPDATE syncrep_log SET changes = $2 WHERE position = $1', [position, JSON.stringify(old)]);
  }
  // The follower missed both.
  await nodes.query('follower-1', 'DELETE FROM emp WHERE id = 70');
  await nodes.query('follower-1', 'DELETE FROM syncrep_applied WHERE position = ANY($1::bigint[])', [positions]);
  await nodes.query('follower-1', 'DELETE FROM syncrep_log WHERE position = ANY($1::bigint[])', [positions]);

  expect(await app.layer.replayer.replay(app.layer.cluster.followers[0])).toBe(2);
  const rows = 'SELECT id, name, salary, department_id FROM emp ORDER BY id';
  expect(await nodes.query('follower-1', rows)).toEqual([{ id: 70, name: 'Old', salary: 2, department_id: null }]);
  expect(await nodes.query('follower-1', rows)).toEqual(await nodes.query('leader', rows));
});
