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
/** What one upgrade attempt came to: open, the HTTP status or error that refused it, or how it closed. */
async function attempt(url: string, opts: WebSocket.ClientOptions = {}, protocol?: string): Promise<unknown> {
  const c = await connect(url, opts, protocol);
  c.ws.terminate();
  return c.openError ?? (c.opened ? 'open' : c.closed);
}
/** Resolves with the close code and reason once the server closes `c`. */
function closing(c: Conn): Promise<{ code: number; reason: string }> {
  if (c.closed) return Promise.resolve(c.closed);
  return new Promise((resolve) => c.ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}
/** The error messages the server sent, by subscription id. */
const errorsById = (c: Conn) =>
  Object.fromEntries(
    c.msgs
      .filter((m) => m.type === 'error')
      .map((m) => [m.id, m.payload.map((e: { message: string; extensions?: { code?: string } }) => `${e.extensions?.code}: ${e.message}`)]),
  );
const subscribe = (c: Conn, id: string, query: string, variables?: unknown) =>
  send(c, { id, type: 'subscribe', payload: { query, variables } });
const listenersGone = () => waitFor(async () => app.events.listenerCount() === 0, 'every subscription of a closed socket gone', 20_000);

test("upgrades are served on the GraphQL path (any path but the probes), from the server's own origin or CORS_ORIGINS only", async () => {
  const base = wsUrl().replace(/\/$/, '');
  const paths: Record<string, unknown> = {};
  for (const p of ['/', '/healthz', '/readyz', '/healthz/', '/random/x', '/?a=1']) paths[p] = await attempt(base + p);
  expect(paths).toEqual({
    '/': 'open',
    '/healthz': 'HTTP 404',
    '/readyz': 'HTTP 404',
    '/healthz/': 'open',
    '/random/x': 'open',
    '/?a=1': 'open',
  });
  const own = `http://${new URL(app.url).host}`;
  const origins: Record<string, unknown> = {};
  for (const origin of [
    'https://evil.example',
    'https://good.example',
    'null',
    own,
    'http://evil.example',
    `https://${new URL(app.url).host}.evil.example`,
  ])
    origins[origin] = await attempt(wsUrl(), { headers: { origin } });
  expect(origins).toEqual({
    'https://evil.example': 'HTTP 403',
    'https://good.example': 'open',
    null: 'HTTP 403',
    [own]: 'open',
    'http://evil.example': 'HTTP 403',
    [`https://${new URL(app.url).host}.evil.example`]: 'HTTP 403',
  });
  // subscriptions-transport-ws's protocol is not spoken: the server picks no subprotocol, the client gives up.
  expect(await attempt(wsUrl(), {}, 'graphql-ws')).toMatch(/no subprotocol/);
});

test('with a wrong token, clusterEvents is served; queries, mutations, introspection and bad documents are refused, each with its code', async () => {
  const wrong = await connect();
  await init(wrong, { authorization: 'Bearer nope' });
  subscribe(wrong, '1', 'subscription { clusterEvents { kind reason } }');
  subscribe(wrong, '2', '{ nodes { name lastError } }');
  subscribe(wrong, '3', 'mutation { resyncNode(node: "follower-1") { state } }');
  subscribe(wrong, '4', '{ __schema { types { name } } }');
  subscribe(wrong, '5', 'subscription { __typename }');
  subscribe(wrong, '6', 'subscription { a: clusterEvents { kind } b: clusterEvents { kind } }');
  subscribe(wrong, '7', 'subscription { clusterEvents { kind } } subscription X { clusterEvents { node } }');
  subscribe(
    wrong,
    '8',
    'subscription { clusterEvents { kind node: kind ' + Array.from({ length: 30 }, (_, i) => `a${i}: node`).join(' ') + ' } }',
  );
  subscribe(wrong, '9', 'subscription($x: Int) { clusterEvents { kind } }', { x: 'notint' });
  subscribe(wrong, '10', 'subscription { clusterEvents { kind ...F } } fragment F on ClusterEvent { ...F }');
  await waitFor(async () => Object.keys(errorsById(wrong)).length === 9, 'an answer to every refused subscription', 10_000);
  expect(errorsById(wrong)).toEqual({
    '2': ['BAD_REQUEST: only subscriptions are served over WebSocket: send a query over HTTP POST to this same URL'],
    '3': ['BAD_REQUEST: only subscriptions are served over WebSocket: send a mutation over HTTP POST to this same URL'],
    '4': ['BAD_REQUEST: only subscriptions are served over WebSocket: send a query over HTTP POST to this same URL'],
    '5': ['GRAPHQL_VALIDATION_FAILED: Anonymous Subscription must not select an introspection top level field.'],
    '6': ['GRAPHQL_VALIDATION_FAILED: Anonymous Subscription must select only one top level field.'],
    '7': ['GRAPHQL_VALIDATION_FAILED: This anonymous operation must be the only defined operation.'],
    '8': ['GRAPHQL_VALIDATION_FAILED: Aliases limit of 15 exceeded, found 31.'],
    '9': ['GRAPHQL_VALIDATION_FAILED: Variable "$x" is never used.'],
    '10': ['GRAPHQL_VALIDATION_FAILED: Cannot spread fragment "F" within itself.'],
  });
  expect(wrong.closed).toBeUndefined();
  await waitFor(async () => app.events.listenerCount() === 1, 'the one clusterEvents subscription listening');
  wrong.ws.terminate();
  await listenersGone();
});

test(`one socket holds at most ${MAX_SUBSCRIPTIONS_PER_SOCKET} clusterEvents subscriptions; the rest are refused, and all go with the socket`, async () => {
  const many = await connect();
  await init(many);
  const asked = MAX_SUBSCRIPTIONS_PER_SOCKET + 40;
  for (let i = 0; i < asked; i++) subscribe(many, `s${i}`, 'subscription { clusterEvents { kind node from to reason at } }');
  await waitFor(async () => Object.keys(errorsById(many)).length === asked - MAX_SUBSCRIPTIONS_PER_SOCKET, 'the refusals', 10_000);
  await waitFor(async () => app.events.listenerCount() >= MAX_SUBSCRIPTIONS_PER_SOCKET, 'the accepted subscriptions listening', 10_000);
  expect(app.events.listenerCount()).toBe(MAX_SUBSCRIPTIONS_PER_SOCKET);
  expect(Object.keys(errorsById(many))).toEqual(
    Array.from({ length: asked - MAX_SUBSCRIPTIONS_PER_SOCKET }, (_, i) => `s${i + MAX_SUBSCRIPTIONS_PER_SOCKET}`),
  );
  expect(errorsById(many)[`s${MAX_SUBSCRIPTIONS_PER_SOCKET}`]).toEqual([
    `BAD_REQUEST: at most ${MAX_SUBSCRIPTIONS_PER_SOCKET} subscriptions per connection: complete one first`,
  ]);
  expect(many.closed).toBeUndefined();
  many.ws.terminate();
  await listenersGone();
});

test('protocol breaches close the socket with graphql-ws codes: a repeated id 4409, a subscribe before init 4401, no init at all 4408', async () => {
  const dup = await connect();
  await init(dup);
  subscribe(dup, 'x', 'subscription { clusterEvents { kind } }');
  subscribe(dup, 'x', 'subscription { clusterEvents { kind } }');
  expect(await closing(dup)).toEqual({ code: 4409, reason: 'Subscriber for x already exists' });
  await listenersGone();

  const early = await connect();
  subscribe(early, 'a', 'subscription { clusterEvents { kind } }');
  expect(await closing(early)).toEqual({ code: 4401, reason: 'Unauthorized' });

  const idle = await connect();
  expect(await closing(idle)).toEqual({ code: 4408, reason: 'Connection initialisation timeout' });
});

test('connection params: a 3 MB unknown token is acknowledged as anonymous; a message over the size limit closes the socket (1009)', async () => {
  const huge = await connect();
  send(huge, {
    type: 'connection_init',
    payload: { authorization: 'Bearer ' + 'x'.repeat(3_000_000), junk: Array.from({ length: 50000 }, (_, i) => ({ i })) },
  });
  await waitFor(async () => huge.msgs.length > 0 || huge.closed !== undefined, 'an answer to the init', 10_000);
  expect(huge.msgs).toEqual([{ type: 'connection_ack' }]);
  huge.ws.terminate();

  const over = await connect();
  send(over, { type: 'connection_init', payload: { a: 'x'.repeat(5_000_000) } });
  expect(await closing(over)).toEqual({ code: 1009, reason: '' });
});
