import 'reflect-metadata';
import WebSocket from 'ws';
import type { Syncrep } from '../../../src/app';
import { LocalNodes } from '../../../harness/nodes';
import { startServer, TEST_ADMIN_TOKEN } from '../../support/server';
import { waitFor } from '../../support/wait';
import { MAX_SUBSCRIPTIONS_PER_SOCKET } from '../../../src/server/subscription-operations';

let nodes: LocalNodes;
let app: Syncrep;

beforeAll(async () => {
  nodes = await LocalNodes.start(1);
  app = await startServer(nodes, {
    ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    CORS_ORIGINS: 'https://good.example',
    LOG_LEVEL: process.env.ALOG ?? 'silent',
  });
});
afterAll(async () => {
  await app?.stop();
  await nodes?.stop();
});

const wsUrl = () => app.url.replace(/^http/, 'ws');

interface Conn {
  ws: WebSocket;
  msgs: any[];
  closed?: { code: number; reason: string };
  opened: boolean;
  openError?: string;
}
function connect(url = wsUrl(), opts: WebSocket.ClientOptions = {}, protocol = 'graphql-transport-ws'): Promise<Conn> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, protocol, opts);
    const c: Conn = { ws, msgs: [], opened: false };
    ws.on('message', (d: Buffer) => c.msgs.push(JSON.parse(d.toString())));
    ws.on('close', (code, reason) => {
      c.closed = { code, reason: reason.toString() };
      resolve(c);
    });
    ws.on('unexpected-response', (_req, res) => {
      c.openError = `HTTP ${res.statusCode}`;
      resolve(c);
    });
    ws.on('error', (e) => {
      c.openError = c.openError ?? e.message;
      resolve(c);
    });
    ws.on('open', () => {
      c.opened = true;
      resolve(c);
    });
  });
}
const send = (c: Conn, m: unknown) => c.ws.send(typeof m === 'string' ? m : JSON.stringify(m));
async function init(c: Conn, payload?: unknown) {
  send(c, { type: 'connection_init', payload });
  await waitFor(async () => c.msgs.some((m) => m.type === 'connection_ack') || c.closed !== undefined, 'ack', 5000);
}

test('upgrade paths and origins', async () => {
  const out: Record<string, unknown> = {};
  for (const p of ['/', '/healthz', '/readyz', '/healthz/', '/random/x', '/?a=1']) {
    const c = await connect(wsUrl().replace(/\/$/, '') + p);
    out[p] = c.openError ?? (c.opened ? 'open' : c.closed);
    c.ws.terminate();
  }
  for (const origin of [
    'https://evil.example',
    'https://good.example',
    'null',
    `http://${new URL(app.url).host}`,
    'http://evil.example',
    `https://${new URL(app.url).host}.evil.example`,
  ]) {
    const c = await connect(wsUrl(), { headers: { origin } });
    out[`origin ${origin}`] = c.openError ?? (c.opened ? 'open' : c.closed);
    c.ws.terminate();
  }
  // host header spoof with evil origin (DNS rebinding shape)
  const c = await connect(wsUrl(), { headers: { origin: 'http://evil.example:1234', host: 'evil.example:1234' } });
  out['rebinding'] = c.openError ?? (c.opened ? 'open' : c.closed);
  c.ws.terminate();
  const other = await connect(wsUrl(), {}, 'graphql-ws');
  out['legacy protocol'] = other.openError ?? (other.opened ? `open proto=${other.ws.protocol}` : other.closed);
  other.ws.terminate();
});

test(`one socket holds at most ${MAX_SUBSCRIPTIONS_PER_SOCKET} clusterEvents subscriptions of the 20,000 it asks for`, async () => {
  const out: Record<string, unknown> = {};
  // wrong token
  const wrong = await connect();
  await init(wrong, { authorization: 'Bearer nope' });
  send(wrong, { id: '1', type: 'subscribe', payload: { query: 'subscription { clusterEvents { kind reason } }' } });
  send(wrong, { id: '2', type: 'subscribe', payload: { query: '{ nodes { name lastError } }' } });
  send(wrong, { id: '3', type: 'subscribe', payload: { query: 'mutation { resyncNode(node: "follower-1") { state } }' } });
  send(wrong, { id: '4', type: 'subscribe', payload: { query: '{ __schema { types { name } } }' } });
  send(wrong, { id: '5', type: 'subscribe', payload: { query: 'subscription { __typename }' } });
  send(wrong, { id: '6', type: 'subscribe', payload: { query: 'subscription { a: clusterEvents { kind } b: clusterEvents { kind } }' } });
  send(wrong, {
    id: '7',
    type: 'subscribe',
    payload: { query: 'subscription { clusterEvents { kind } } subscription X { clusterEvents { node } }' },
  });
  send(wrong, {
    id: '8',
    type: 'subscribe',
    payload: {
      query: 'subscription { clusterEvents { kind node: kind ' + Array.from({ length: 30 }, (_, i) => `a${i}: node`).join(' ') + ' } }',
    },
  });
  send(wrong, {
    id: '9',
    type: 'subscribe',
    payload: { query: 'subscription($x: Int) { clusterEvents { kind } }', variables: { x: 'notint' } },
  });
  send(wrong, {
    id: '10',
    type: 'subscribe',
    payload: { query: 'subscription { clusterEvents { kind ...F } } fragment F on ClusterEvent { ...F }' },
  });
  await new Promise((r) => setTimeout(r, 1000));
  out.wrongToken = { msgs: wrong.msgs, closed: wrong.closed, listeners: app.events.listenerCount() };
  wrong.ws.terminate();
  await waitFor(async () => app.events.listenerCount() === 0, 'listeners gone', 10000).catch(() => undefined);
  out.afterTerminate = app.events.listenerCount();

  // Many subscriptions on one socket
  const many = await connect();
  await init(many);
  const N = 20000;
  const heapBefore = process.memoryUsage().heapUsed;
  for (let i = 0; i < N; i++)
    send(many, { id: `s${i}`, type: 'subscribe', payload: { query: 'subscription { clusterEvents { kind node from to reason at } }' } });
  await waitFor(async () => app.events.listenerCount() >= N || many.closed !== undefined, 'many subs', 60000).catch(() => undefined);
  out.many = {
    listeners: app.events.listenerCount(),
    closed: many.closed,
    heapMB: ((process.memoryUsage().heapUsed - heapBefore) / 1e6).toFixed(1),
    errs: many.msgs.filter((m) => m.type === 'error').slice(0, 2),
  };
  many.ws.terminate();
  await waitFor(async () => app.events.listenerCount() === 0, 'listeners gone', 20000).catch(() => undefined);
  out.afterMany = app.events.listenerCount();

  // duplicate ids
  const dup = await connect();
  await init(dup);
  send(dup, { id: 'x', type: 'subscribe', payload: { query: 'subscription { clusterEvents { kind } }' } });
  send(dup, { id: 'x', type: 'subscribe', payload: { query: 'subscription { clusterEvents { kind } }' } });
  await new Promise((r) => setTimeout(r, 500));
  out.dup = { closed: dup.closed, listeners: app.events.listenerCount() };
  dup.ws.terminate();

  // no init, subscribe directly; huge connectionParams
  const noinit = await connect();
  send(noinit, { id: 'a', type: 'subscribe', payload: { query: 'subscription { clusterEvents { kind } }' } });
  await new Promise((r) => setTimeout(r, 500));
  out.noinit = noinit.closed;
  const huge = await connect();
  send(huge, {
    type: 'connection_init',
    payload: { authorization: 'Bearer ' + 'x'.repeat(3_000_000), junk: Array.from({ length: 50000 }, (_, i) => ({ i })) },
  });
  await new Promise((r) => setTimeout(r, 1500));
  out.hugeParams = { msgs: huge.msgs, closed: huge.closed };
  huge.ws.terminate();
  const over = await connect();
  send(over, { type: 'connection_init', payload: { a: 'x'.repeat(5_000_000) } });
  await new Promise((r) => setTimeout(r, 1500));
  out.overParams = { closed: over.closed };
  // Never send init: how long is the socket kept?
  const idle = await connect();
  await new Promise((r) => setTimeout(r, 4000));
  out.idleNoInit = idle.closed ?? 'still open after 4s';
  idle.ws.terminate();
  await waitFor(async () => app.events.listenerCount() === 0, 'listeners gone', 20000).catch(() => undefined);
  out.final = app.events.listenerCount();
  expect((out.many as { listeners: number }).listeners).toBeLessThanOrEqual(MAX_SUBSCRIPTIONS_PER_SOCKET);
});
