import 'reflect-metadata';
import WebSocket from 'ws';
import type { Syncrep } from '../../../src/app';
import { LocalNodes } from '../../../harness/nodes';
import { ADMIN_HEADERS, errorCode, gql, startServer, TEST_ADMIN_TOKEN } from '../../support/server';
import { waitAllInSync, waitFor } from '../../support/wait';

let nodes: LocalNodes;
let prod: Syncrep;

beforeAll(async () => {
  nodes = await LocalNodes.start(1);
  prod = await startServer(nodes, {
    NODE_ENV: 'production',
    ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    READ_WAIT_MS: '500',
    LOG_LEVEL: process.env.ALOG ?? 'silent',
  });
  await waitAllInSync(prod.url);
});
afterAll(async () => {
  nodes?.node('follower-1').signalAll('SIGCONT');
  await prod?.stop();
  await nodes?.stop();
});

test('production suggests no enum value (a typo of LEADER does not reveal it)', async () => {
  const out: Record<string, unknown> = {};
  const q = encodeURIComponent('{ __schema { types { name } } }');
  const get = await fetch(`${prod.url}?query=${q}`, { headers: { 'apollo-require-preflight': '1' } });
  out.get = `${get.status} ${(await get.text()).slice(0, 150)}`;
  const typeQ = await gql(prod.url, '{ __type(name: "ReadFrom") { inputFields { name } } }');
  out.type = JSON.stringify(typeQ).slice(0, 200);
  const typename = await gql(prod.url, '{ __typename }');
  out.typename = JSON.stringify(typename).slice(0, 200);
  const enumLeak = await gql(prod.url, '{ employees(readFrom: {role: LEADR}) { id } }');
  out.enumLeak = enumLeak.errors?.[0]?.message;
  const enumVar = await gql(prod.url, 'query($r: ReadFrom) { employees(readFrom: $r) { id } }', { r: { role: 'FOLLOWR' } });
  out.enumVar = enumVar.errors?.[0]?.message;
  const fieldLeak = await gql(prod.url, '{ employees { salry } }');
  out.fieldLeak = fieldLeak.errors?.[0]?.message;
  const eventEnum = await gql(prod.url, '{ nodes { stat } }');
  out.nodeField = eventEnum.errors?.[0]?.message;
  // Over the socket
  const ws = new WebSocket(prod.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
  const msgs: any[] = [];
  ws.on('message', (d: Buffer) => msgs.push(JSON.parse(d.toString())));
  await new Promise((r) => ws.once('open', r));
  ws.send(JSON.stringify({ type: 'connection_init' }));
  await waitFor(async () => msgs.length > 0, 'ack');
  ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: '{ __schema { types { name } } }' } }));
  ws.send(JSON.stringify({ id: '2', type: 'subscribe', payload: { query: 'subscription { clusterEvents { kind kindd } }' } }));
  ws.send(
    JSON.stringify({ id: '3', type: 'subscribe', payload: { query: 'subscription { clusterEvents { __type(name: "Query") { name } } }' } }),
  );
  ws.send(
    JSON.stringify({
      id: '4',
      type: 'subscribe',
      payload: { query: 'subscription { clusterEvents { kind ... on ClusterEvent { node } } }' },
    }),
  );
  await new Promise((r) => setTimeout(r, 500));
  out.ws = msgs;
  ws.terminate();
  // Landing page
  const landing = await fetch(prod.url, { headers: { accept: 'text/html' } });
  out.landing = `${landing.status} ${(await landing.text()).slice(0, 80)}`;
  // CORS in production: preflight from any origin
  const pre = await fetch(prod.url, {
    method: 'OPTIONS',
    headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
  });
  out.preflight = Object.fromEntries(pre.headers);
  expect(String(out.enumLeak)).not.toMatch(/LEADER/);
});

test('HEAD /healthz and HEAD /readyz are answered by the probes (200), not by GraphQL', async () => {
  const head = await fetch(prod.url + 'healthz', { method: 'HEAD' });
  const headReady = await fetch(prod.url + 'readyz', { method: 'HEAD' });
  expect([head.status, headReady.status]).toEqual([200, 200]);
});

test('subscription over HTTP POST and GET', async () => {
  const post = await gql(prod.url, 'subscription { clusterEvents { kind } }');
  const get = await fetch(`${prod.url}?query=${encodeURIComponent('subscription { clusterEvents { kind } }')}`, {
    headers: { 'apollo-require-preflight': '1' },
  });
  expect(errorCode(post)).toBe('BAD_REQUEST');
  expect(get.status).toBeGreaterThanOrEqual(400);
  expect(get.status).toBeLessThan(500);
});

test('with a follower DOWN (mode all): a write is REPLICATION_FAILED with servedBy null, lastError is shown to the admin only, a read pinned there is NODE_UNAVAILABLE', async () => {
  nodes.node('follower-1').signalAll('SIGSTOP');
  try {
    await waitFor(async () => (await gql(prod.url, '{ nodes { name state } }')).data?.nodes.some((n: any) => n.state === 'DOWN'), 'down');
    const anon = await gql(prod.url, '{ nodes { name state lastError lastErrorAt } }');
    const wrong = await gql(prod.url, '{ nodes { name state lastError lastErrorAt } }', {}, { authorization: 'Bearer wrong' });
    const lower = await gql(
      prod.url,
      '{ nodes { name state lastError lastErrorAt } }',
      {},
      { authorization: `bearer   ${TEST_ADMIN_TOKEN}  ` },
    );
    const admin = await gql(prod.url, '{ nodes { name state lastError lastErrorAt } }', {}, ADMIN_HEADERS);
    const w = await gql(prod.url, 'mutation { createEmployee(input: {id: 8001, name: "x", salary: 1}) { position } }');
    const pinned = await gql(prod.url, `{ employee(id: 1, readFrom: {node: "follower-1", atLeast: "1"}) { id } }`);
    const readyz = await (await fetch(prod.url + 'readyz')).text();
    expect(anon.data!.nodes.every((n: any) => n.lastError === null)).toBe(true);
    expect(wrong.data!.nodes.every((n: any) => n.lastError === null)).toBe(true);
    for (const shown of [lower, admin])
      expect(shown.data!.nodes.some((n: any) => n.state === 'DOWN' && typeof n.lastError === 'string')).toBe(true);
    expect(errorCode(pinned)).toBe('NODE_UNAVAILABLE');
    expect(errorCode(w)).toBe('REPLICATION_FAILED');
    expect(w.extensions?.replication?.servedBy ?? null).toBeNull();
    expect(JSON.stringify(readyz)).not.toMatch(/timeout|ECONN|timed out/);
  } finally {
    nodes.node('follower-1').signalAll('SIGCONT');
  }
});
