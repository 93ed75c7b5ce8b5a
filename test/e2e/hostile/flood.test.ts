import 'reflect-metadata';
import type { Syncrep } from '../../../src/app';
import type { ClusterEvent } from '../../../src/replication/events/cluster-events';
import { LocalNodes } from '../../../harness/nodes';
import { errorCode, gql, startServer, TEST_ADMIN_TOKEN } from '../../support/server';
import { waitAllInSync, waitFor } from '../../support/wait';

let nodes: LocalNodes;
let app: Syncrep;
let nextId = 7000;

const ENV = {
  ADMIN_TOKEN: TEST_ADMIN_TOKEN,
  DB_POOL_SIZE: process.env.POOL ?? '20',
  DB_TIMEOUT_MS: process.env.DBT ?? '5000',
  READ_WAIT_MS: '3000',
  LOG_LEVEL: process.env.ALOG ?? 'silent',
};

beforeAll(async () => {
  nodes = await LocalNodes.start(1);
  app = await startServer(nodes, ENV);
  await waitAllInSync(app.url);
});
afterAll(async () => {
  await app?.stop();
  await nodes?.stop();
});

async function flood(readFrom: string, requests: number) {
  const events: ClusterEvent[] = [];
  const unsubscribe = app.events.subscribe((e) => events.push(e));
  const aliases = Array.from({ length: 15 }, (_, i) => `a${i}: employee(id: 1, readFrom: ${readFrom}) { id }`).join(' ');
  const reads = Array.from({ length: requests }, () =>
    gql(app.url, `{ ${aliases} }`).catch((e) => ({ errors: [{ message: String(e), extensions: { code: 'FETCH' } }] })),
  );
  // The writes go while the flood is under way: once its reads hold the leader's connections.
  const pool = app.layer.cluster.leader.pool;
  await waitFor(async () => pool.totalCount > pool.idleCount, 'the flood holding leader connections', 10_000);
  const writes: Record<string, number> = {};
  for (let i = 0; i < 5; i++) {
    const id = nextId++;
    const w = await gql(app.url, `mutation { createEmployee(input: {id: ${id}, name: "F", salary: 1}) { position } }`);
    const code = errorCode(w) ?? 'ok';
    writes[code] = (writes[code] ?? 0) + 1;
  }
  const results = await Promise.all(reads);
  const readCodes: Record<string, number> = {};
  for (const r of results)
    for (const e of (r as any).errors ?? [{ extensions: { code: 'ok' } }])
      readCodes[e.extensions?.code] = (readCodes[e.extensions?.code] ?? 0) + 1;
  unsubscribe();
  return { writes, readCodes, events: events.map((e) => `${e.node} ${e.from}->${e.to}: ${e.reason}`) };
}

test('100 anonymous requests of 15 atLeast reads at an unreached position are each refused, change no node state, and writes still succeed (default pool and timeouts)', async () => {
  const requests = Number(process.env.REQS ?? 100);
  const out = await flood('{atLeast: "9223372036854775807", role: LEADER}', requests);
  expect(out.events).toEqual([]);
  expect(out.writes).toEqual({ ok: 5 });
  // Every read refused: the position is never reached, or the busy leader's check came too late.
  expect(Object.keys(out.readCodes).filter((code) => code !== 'POSITION_NOT_REACHED' && code !== 'NODE_UNAVAILABLE')).toEqual([]);
  expect(Object.values(out.readCodes).reduce((a, b) => a + b, 0)).toBe(requests * 15);
});

test('held at defaults: 400 requests of 15 ordinary leader reads are served or refused as busy, change no node state, and writes still succeed', async () => {
  await waitAllInSync(app.url);
  const requests = Number(process.env.REQS ?? 100) * 4;
  const out = await flood('{role: LEADER}', requests);
  expect(out.events).toEqual([]);
  expect(out.writes).toEqual({ ok: 5 });
  // Served, or (on a loaded machine) refused as every connection busy: never another error.
  expect(Object.keys(out.readCodes).filter((code) => code !== 'ok' && code !== 'NODE_UNAVAILABLE')).toEqual([]);
  expect(out.readCodes.ok).toBeGreaterThan(0);
});
