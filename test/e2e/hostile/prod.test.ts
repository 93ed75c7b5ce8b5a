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

test('production: introspection is refused on GET and POST, __typename is served', async () => {
  const q = encodeURIComponent('{ __schema { types { name } } }');
  const get = await fetch(`${prod.url}?query=${q}`, { headers: { 'apollo-require-preflight': '1' } });
  expect(get.status).toBe(400);
  expect(await get.text()).toContain('GraphQL introspection is not allowed');
  const type = await gql(prod.url, '{ __type(name: "ReadFrom") { inputFields { name } } }');
  expect(type.data).toBeUndefined();
  expect(type.errors![0].message).toContain('GraphQL introspection is not allowed');
  expect((await gql(prod.url, '{ __typename }')).data).toEqual({ __typename: 'Query' });
});

test('production suggests no enum value or field: a typo of LEADER, FOLLOWER, salary or state reveals none of them', async () => {
  const messages = [
    (await gql(prod.url, '{ employees(readFrom: {role: LEADR}) { id } }')).errors?.[0]?.message,
    (await gql(prod.url, 'query($r: ReadFrom) { employees(readFrom: $r) { id } }', { r: { role: 'FOLLOWR' } })).errors?.[0]?.message,
    (await gql(prod.url, '{ employees { salry } }')).errors?.[0]?.message,
    (await gql(prod.url, '{ nodes { stat } }')).errors?.[0]?.message,
  ];
  expect(messages).toEqual([
    'Value "LEADR" does not exist in "ReadRole" enum. [Suggestion hidden]',
    'Variable "$r" got invalid value "FOLLOWR" at "r.role"; Value "FOLLOWR" does not exist in "ReadRole" enum. [Suggestion hidden]',
    'Cannot query field "salry" on type "Employee". [Suggestion hidden]',
    'Cannot query field "stat" on type "ClusterNode". [Suggestion hidden]',
  ]);
});

test('production over the socket: a query is refused, and neither a field typo nor introspection inside a subscription reveals the schema', async () => {
  const ws = new WebSocket(prod.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
  const msgs: any[] = [];
  ws.on('message', (d: Buffer) => msgs.push(JSON.parse(d.toString())));
  await new Promise((r) => ws.once('open', r));
  try {
    ws.send(JSON.stringify({ type: 'connection_init' }));
    await waitFor(async () => msgs.length > 0, 'ack');
    const subscribe = (id: string, query: string) => ws.send(JSON.stringify({ id, type: 'subscribe', payload: { query } }));
    subscribe('1', '{ __schema { types { name } } }');
    subscribe('2', 'subscription { clusterEvents { kind kindd } }');
    subscribe('3', 'subscription { clusterEvents { __type(name: "Query") { name } } }');
    await waitFor(async () => msgs.filter((m) => m.type === 'error').length === 3, 'three refusals');
    const refusals = Object.fromEntries(
      msgs.filter((m) => m.type === 'error').map((m) => [m.id, m.payload.map((e: any) => `${e.extensions.code}: ${e.message}`)]),
    );
    expect(msgs[0]).toEqual({ type: 'connection_ack' });
    expect(refusals).toEqual({
      '1': ['BAD_REQUEST: only subscriptions are served over WebSocket: send a query over HTTP POST to this same URL'],
      '2': ['GRAPHQL_VALIDATION_FAILED: Cannot query field "kindd" on type "ClusterEvent". [Suggestion hidden]'],
      '3': ['GRAPHQL_VALIDATION_FAILED: Cannot query field "__type" on type "ClusterEvent".'],
    });
  } finally {
    ws.terminate();
  }
});

test('production: no landing page (an HTML GET is refused as a possible CSRF), and a preflight from a foreign origin gets no Allow-Origin', async () => {
  const landing = await fetch(prod.url, { headers: { accept: 'text/html' } });
  expect(landing.status).toBe(400);
  expect(await landing.text()).toContain('This operation has been blocked as a potential Cross-Site Request Forgery');
  const pre = await fetch(prod.url, {
    method: 'OPTIONS',
    headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
  });
  expect(pre.headers.get('access-control-allow-origin')).toBeNull();
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
