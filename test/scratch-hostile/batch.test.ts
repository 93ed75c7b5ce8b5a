import 'reflect-metadata';
import type { Syncrep } from '../../src/app';
import { Employee } from '../../src/employee/employee.entity';
import { employeeWrites } from '../../src/employee/employee.mutations';
import { LocalNodes } from '../../harness/nodes';
import { startServer } from '../support/server';

let nodes: LocalNodes;
let app: Syncrep;

beforeAll(async () => {
  nodes = await LocalNodes.start(2);
  app = await startServer(nodes, { LOG_LEVEL: 'silent', DB_POOL_SIZE: '2', DB_TIMEOUT_MS: '3000' });
  const inputs = Array.from({ length: 20 }, (_, i) => ({ id: i + 1, name: `K${i + 1}`, salary: i + 1 }));
  await app.service.write(employeeWrites.createMany(inputs));
  // extremes written directly on every node (ids the API refuses)
  for (const n of ['leader', 'follower-1', 'follower-2'])
    await nodes.query(n, "INSERT INTO emp (id, name, salary) VALUES (2147483647, 'MAX', 7), (-2147483648, 'MIN', 8), (0, 'ZERO', 9)");
});

afterAll(async () => {
  await app?.stop();
  await nodes?.stop();
});

const read = (target: any, id: unknown) => app.service.read(target, { servedBy: new Set() }, (db) => db.byKey(Employee, id));

test('mixed keys in one batch each get their own row', async () => {
  const keys: unknown[] = [];
  for (let i = 0; i < 30; i++) keys.push(2147483647, -2147483648, 0, 5, 5, '5', '05', '-0', 999, 2147483648, 1.5, '+5', ' 5');
  const out = await Promise.all(
    keys.map((k) =>
      read({ node: 'follower-1' }, k).then(
        (v) => ({ k, id: v?.id ?? null, name: v?.name ?? null }),
        (e) => ({ k, err: String(e.code ?? e.message) }),
      ),
    ),
  );
  const uniq = new Map<string, unknown>();
  for (const o of out) uniq.set(JSON.stringify(o), o);
  console.log([...uniq.keys()].join('\n'));
  // what each key gives when read alone, unbatched (atLeast 0 bypasses the batcher)
  for (const k of [2147483647, -2147483648, 0, 5, '5', '05', '-0', 999, 1.5, '+5', ' 5']) {
    const alone = await app.service
      .read({ node: 'follower-1', atLeast: '0' }, { servedBy: new Set() }, (db) => db.byKey(Employee, k))
      .then((v) => v?.id ?? null, (e) => String(e.code ?? e.message));
    console.log('alone', JSON.stringify(k), alone);
  }
  console.log('follower-1 state', app.layer.cluster.byName('follower-1')!.state.kind);
});

test('a follower killed mid-batch: unpinned reads fall back, none fails or gets another row', async () => {
  const ids = Array.from({ length: 600 }, (_, i) => (i % 20) + 1);
  const pending = ids.map((id) =>
    read(null, id).then(
      (v) => ({ id, got: v?.id ?? null }),
      (e) => ({ id, err: String(e.extensions?.code ?? e.code ?? e.message) }),
    ),
  );
  setTimeout(() => nodes.node('follower-1').signalAll('SIGKILL'), 5);
  const out = await Promise.all(pending);
  const bad = out.filter((o) => !('got' in o) || o.got !== o.id);
  console.log('bad', bad.length, JSON.stringify(bad.slice(0, 5)));
  console.log('states', app.service.nodes().map((n) => `${n.name}:${n.state.kind}`).join(' '));
  expect(bad).toEqual([]);
});
