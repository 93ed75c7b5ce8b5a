import 'reflect-metadata';
import type { Syncrep } from '../../src/app';
import { LocalNodes } from '../../harness/nodes';
import { errorCode, gql, startServer } from '../support/server';

let nodes: LocalNodes;
let app: Syncrep;

beforeAll(async () => {
  nodes = await LocalNodes.start(1);
  app = await startServer(nodes, { DB_POOL_SIZE: '2' });
  await gql(app.url, 'mutation { createEmployee(input: { id: 1, name: "A", salary: 1 }) { position } }');
});

afterAll(async () => {
  await app?.stop();
  await nodes?.stop();
});

const Q = ['{ employee(id: 1) { id salary department { id } } }', '{ employees(first: 5) { id salary department { id } } }', '{ employee(id: 1) { id salary } }', '{ employees(first: 5) { id salary } }', '{ employee(id: 1, readFrom: { atLeast: "0" }) { id salary } }'];

test('a column widened online (int -> bigint) on every node: reads afterwards', async () => {
  for (let i = 0; i < 10; i++) for (const q of Q) expect((await gql(app.url, q)).errors).toBeUndefined();
  for (const n of ['leader', 'follower-1']) await nodes.query(n, 'ALTER TABLE emp ALTER COLUMN salary TYPE bigint');
  const seen: string[] = [];
  for (let i = 0; i < 40; i++)
    for (const q of Q) {
      const r = await gql(app.url, q);
      seen.push(`${q} -> ${r.errors ? errorCode(r) + ' ' + r.errors[0].message.slice(0, 90) : JSON.stringify(r.data)}`);
    }
  const counts = new Map<string, number>(); for (const x of seen) counts.set(x, (counts.get(x) ?? 0) + 1); console.log([...counts].map(([k, c]) => `${c}x ${k}`).join('\n'));
  console.log(app.service.nodes().map((n) => `${n.name}:${n.state.kind}`).join(' '));
});
