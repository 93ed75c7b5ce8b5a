import 'reflect-metadata';
import type { Syncrep } from '../../src/app';
import { LocalNodes } from '../../harness/nodes';
import { gql, startServer } from '../support/server';

/**
 * Reads are named prepared statements, planned once per connection. A column whose type changes
 * under them (an online migration run on every node) makes each connection's plan fail once
 * ("cached plan must not change result type"); the read is tried again and served, never an error.
 */
let nodes: LocalNodes;
let app: Syncrep;

beforeAll(async () => {
  nodes = await LocalNodes.start(1);
  // No health rounds: the nodes' tables differ for a moment while the migration reaches each.
  app = await startServer(nodes, { HEALTH_INTERVAL_MS: '3600000', SEED_EXAMPLE_ROWS: 'true' });
});

afterAll(async () => {
  await app?.stop();
  await nodes?.stop();
});

/** Each read shape, on a node of `role`: by key (grouped), a page, a page with a nested field, at a position. */
const shapes = (role: string) => [
  `{ employee(id: 101, readFrom: { role: ${role} }) { id name } }`,
  `{ employees(first: 5, readFrom: { role: ${role} }) { id name } }`,
  `{ employees(after: 100, first: 5, readFrom: { role: ${role} }) { id name department { id } } }`,
  `{ employee(id: 101, readFrom: { role: ${role}, atLeast: "0" }) { id name } }`,
];

/** Every shape 8 times at once on both nodes (so that many connections have planned each); the error code of each, or ok. */
function readAll(): Promise<string[]> {
  const queries = ['LEADER', 'FOLLOWER'].flatMap(shapes).flatMap((q) => Array.from({ length: 8 }, () => q));
  return Promise.all(queries.map((q) => gql(app.url, q).then((r) => String(r.errors?.[0]?.extensions?.code ?? 'ok'))));
}

test('reads planned before a column type changed on every node are served after it, with the new values', async () => {
  expect(new Set(await readAll())).toEqual(new Set(['ok']));
  for (const node of ['leader', 'follower-1']) await nodes.query(node, 'ALTER TABLE emp ALTER COLUMN name TYPE varchar(300)');
  expect(new Set(await readAll())).toEqual(new Set(['ok']));
  const read = await gql(app.url, '{ employee(id: 101, readFrom: { role: FOLLOWER }) { name } }');
  expect(read.data).toEqual({ employee: { name: 'John' } });
});
