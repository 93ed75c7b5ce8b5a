import 'reflect-metadata';
import { Client } from 'pg';
import type { Syncrep } from '../../src/app';
import { LocalNodes } from '../../harness/nodes';
import { gql, startServer } from '../support/server';
import { waitFor } from '../support/wait';

let nodes: LocalNodes;
let app: Syncrep;

beforeAll(async () => {
  nodes = await LocalNodes.start(2);
  app = await startServer(nodes, { DB_TIMEOUT_MS: '2000', HEALTH_INTERVAL_MS: '300' });
  await gql(app.url, 'mutation { createEmployee(input: { id: 1, name: "A", salary: 1 }) { position } }');
});

afterAll(async () => {
  await app?.stop();
  await nodes?.stop();
});

test('mode all, follower-2 cannot prepare: every write of the batch refused, nothing anywhere, nothing prepared', async () => {
  const lock = new Client({ connectionString: nodes.node('follower-2').url });
  lock.on('error', () => undefined);
  await lock.connect();
  await lock.query('BEGIN');
  await lock.query('LOCK TABLE emp IN EXCLUSIVE MODE');
  const ids = [10, 11, 1, 12, 1, 13];
  const out = await Promise.all(
    ids.map((id) => gql(app.url, `mutation { createEmployee(input: { id: ${id}, name: "N${id}", salary: 5 }) { position committedOn } }`)),
  );
  console.log(out.map((o, i) => `${ids[i]}: ${o.errors ? o.errors[0].extensions?.code + ' ' + o.errors[0].message.slice(0, 100) : JSON.stringify(o.data)}`).join('\n'));
  await lock.query('ROLLBACK');
  await lock.end();
  await waitFor(async () => app.service.nodes().every((n) => n.state.kind === 'UP' || n.state.kind === 'IN_SYNC'), 'in service', 30000);
  const acked = out.map((o, i) => (o.data?.createEmployee ? ids[i] : null)).filter((x) => x !== null);
  for (const n of ['leader', 'follower-1', 'follower-2']) {
    console.log(n, JSON.stringify((await nodes.rows(n)).map((r) => r.id)), JSON.stringify(await nodes.prepared(n)));
  }
  console.log('acked', acked);
});
