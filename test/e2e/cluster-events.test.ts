import 'reflect-metadata';
import WebSocket from 'ws';
import type { Syncrep } from '../../src/app';
import { LocalNodes } from '../../harness/nodes';
import { errorCode, gql, startServer, TEST_ADMIN_TOKEN } from '../support/server';
import { nextMatching, subscribe, wsUrl, type Subscriber } from '../support/subscriber';
import { waitAllInSync, waitFor } from '../support/wait';

const EVENTS = 'subscription { clusterEvents { kind node from to reason at } }';
const ADMIN_PARAMS = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` };

let nodes: LocalNodes;
let app: Syncrep;
const open: Subscriber[] = [];

beforeAll(async () => {
  nodes = await LocalNodes.start(1);
  app = await startServer(nodes, { ADMIN_TOKEN: TEST_ADMIN_TOKEN });
});

afterEach(async () => {
  for (const subscriber of open.splice(0)) await subscriber.client.dispose();
  // The next test counts listeners from zero.
  await waitFor(async () => app.events.listenerCount() === 0, 'every subscription of the test ended');
});

afterAll(async () => {
  await app?.stop();
  await nodes?.stop();
});

async function subscribed(query: string, params: Record<string, unknown> = {}): Promise<Subscriber> {
  const subscriber = await subscribe(app.url, query, params);
  open.push(subscriber);
  return subscriber;
}

interface Event {
  kind: string;
  node: string;
  from: string | null;
  to: string | null;
  reason: string | null;
  at: string;
}

test('SIGSTOP a follower: its move to DOWN arrives with the reason (for operators only); after SIGCONT, its moves back to IN_SYNC', async () => {
  const admin = await subscribed(EVENTS, ADMIN_PARAMS);
  const anonymous = await subscribed(EVENTS);
  await waitFor(async () => app.events.listenerCount() === 2, 'both subscriptions listening');
  const isDown = (e: Event) => e.node === 'follower-1' && e.to === 'DOWN';
  nodes.node('follower-1').signalAll('SIGSTOP');
  let down: Event;
  try {
    down = await nextMatching<Event>(admin, 'clusterEvents', isDown, 'follower-1 DOWN (admin)');
  } finally {
    nodes.node('follower-1').signalAll('SIGCONT');
  }
  expect(down).toMatchObject({ kind: 'NODE_STATE_CHANGED', node: 'follower-1', from: 'IN_SYNC', to: 'DOWN' });
  // The health check's own words (it timed out on the frozen node).
  expect(down.reason).toMatch(/\S/);
  expect(Date.parse(down.at)).not.toBeNaN();
  const anonymousDown = await nextMatching<Event>(anonymous, 'clusterEvents', isDown, 'follower-1 DOWN (anonymous)');
  expect(anonymousDown).toMatchObject({ ...down, reason: null });

  const inSync = await nextMatching<Event>(admin, 'clusterEvents', (e) => e.node === 'follower-1' && e.to === 'IN_SYNC', 'back IN_SYNC');
  expect(inSync).toMatchObject({ kind: 'NODE_STATE_CHANGED', from: 'CATCHING_UP' });
  const moves = admin.results.map((r) => r.data!.clusterEvents as Event).map((e) => `${e.from}->${e.to}`);
  expect(moves).toEqual(['IN_SYNC->DOWN', 'DOWN->CATCHING_UP', 'CATCHING_UP->IN_SYNC']);
  await waitAllInSync(app.url);
});

test('resyncNode: RESYNC_STARTED, then RESYNC_FINISHED, then the move to IN_SYNC', async () => {
  // As Apollo Sandbox sends its Headers tab: the parameter's name in any case.
  const admin = await subscribed(EVENTS, { Authorization: ADMIN_PARAMS.authorization });
  await waitFor(async () => app.events.listenerCount() === 1, 'subscription listening');
  const rebuilt = await gql(
    app.url,
    'mutation { resyncNode(node: "follower-1") { state } }',
    {},
    { authorization: ADMIN_PARAMS.authorization },
  );
  expect(rebuilt.data?.resyncNode.state).toBe('IN_SYNC');
  await nextMatching<Event>(admin, 'clusterEvents', (e) => e.to === 'IN_SYNC', 'back IN_SYNC');
  const events = admin.results.map((r) => r.data!.clusterEvents as Event).map(({ kind, from, to }) => ({ kind, from, to }));
  expect(events).toEqual([
    { kind: 'RESYNC_STARTED', from: 'IN_SYNC', to: 'NEEDS_RESYNC' },
    { kind: 'RESYNC_FINISHED', from: 'NEEDS_RESYNC', to: 'CATCHING_UP' },
    { kind: 'NODE_STATE_CHANGED', from: 'CATCHING_UP', to: 'IN_SYNC' },
  ]);
  expect(admin.results[0].data!.clusterEvents.reason).toMatch(/\S/);
});

test('a subscription over the query limits is refused with the same error as a query over HTTP', async () => {
  const aliases = Array.from({ length: 16 }, (_, i) => `a${i}: kind`).join(' ');
  const tooManyAliases = await subscribed(`subscription { clusterEvents { ${aliases} } }`);
  await waitFor(async () => tooManyAliases.errors !== undefined, 'the refusal');
  const overHttp = await gql(app.url, `{ nodes { ${aliases.replaceAll('kind', 'name')} } }`);
  expect(overHttp.errors).toHaveLength(1);
  expect(tooManyAliases.errors).toEqual([
    { message: overHttp.errors![0].message, extensions: expect.objectContaining({ code: 'GRAPHQL_VALIDATION_FAILED' }) },
  ]);
  expect(overHttp.errors![0].message).toMatch(/Aliases limit of 15 exceeded/);

  // No type nests in this schema, so a deep document is also invalid for other reasons: the depth limit is among them.
  const deep = 'a { b { c { d { e { f { g { h { i { j } } } } } } } } }';
  const tooDeep = await subscribed(`subscription { clusterEvents { kind { ${deep} } } }`);
  await waitFor(async () => tooDeep.errors !== undefined, 'the refusal');
  const deepOverHttp = await gql(app.url, `{ nodes { name { ${deep} } } }`);
  const depthLimit = (errors: { message: string }[] | undefined) =>
    errors?.filter((e) => /depth limit of 10/.test(e.message)).map((e) => e.message);
  expect(depthLimit(tooDeep.errors)).toEqual(['Query depth limit of 10 exceeded, found 12.']);
  expect(depthLimit(deepOverHttp.errors)).toEqual(depthLimit(tooDeep.errors));
  expect(app.events.listenerCount()).toBe(0);
});

test('a client that disconnects, completes or vanishes leaves no listener behind', async () => {
  const leaving = await subscribed(EVENTS);
  const completing = await subscribed(EVENTS);
  await waitFor(async () => app.events.listenerCount() === 2, 'two subscriptions listening');
  await leaving.client.dispose();
  await waitFor(async () => app.events.listenerCount() === 1, 'the closed client unsubscribed');
  completing.unsubscribe();
  await waitFor(async () => app.events.listenerCount() === 0, 'the completed subscription unsubscribed');

  // A client whose connection drops without a close frame: the raw protocol, then a reset.
  const socket = new WebSocket(wsUrl(app.url), 'graphql-transport-ws');
  await new Promise((resolve) => socket.once('open', resolve));
  socket.send(JSON.stringify({ type: 'connection_init' }));
  await new Promise((resolve) => socket.once('message', resolve));
  socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: EVENTS } }));
  await waitFor(async () => app.events.listenerCount() === 1, 'the raw subscription listening');
  socket.terminate();
  await waitFor(async () => app.events.listenerCount() === 0, 'the vanished client unsubscribed');
});

test('a subscription POSTed over HTTP is told to use graphql-ws on the same URL (400 BAD_REQUEST)', async () => {
  const response = await fetch(app.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: EVENTS }),
  });
  expect(response.status).toBe(400);
  const body = (await response.json()) as { errors: { message: string; extensions: { code: string } }[] };
  expect(errorCode(body)).toBe('BAD_REQUEST');
  expect(body.errors[0].message).toMatch(/graphql-ws.*this same URL/);
});

test('queries are not served over WebSocket: BAD_REQUEST, and HTTP is named', async () => {
  const query = await subscribed('{ nodes { name } }');
  await waitFor(async () => query.errors !== undefined, 'the refusal');
  expect(query.errors![0].extensions?.code).toBe('BAD_REQUEST');
  expect(query.errors![0].message).toMatch(/HTTP POST/);
});

test('a browser page from an origin outside CORS_ORIGINS cannot open a socket; a listed one can', async () => {
  const strict = await startServer(nodes, { CORS_ORIGINS: 'https://app.example.com' });
  try {
    const statusFor = (origin: string) =>
      new Promise<number | 'open'>((resolve, reject) => {
        const socket = new WebSocket(wsUrl(strict.url), 'graphql-transport-ws', { origin });
        socket.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
        socket.once('open', () => (socket.close(), resolve('open')));
        socket.once('error', reject);
      });
    expect(await statusFor('https://elsewhere.example.com')).toBe(403);
    expect(await statusFor('https://app.example.com')).toBe('open');
  } finally {
    await strict.stop();
  }
});

test('stop closes every subscription socket with 1001 (going away) and leaves no listener', async () => {
  const own = await startServer(nodes);
  const subscriber = await subscribe(own.url, EVENTS);
  try {
    await waitFor(async () => own.events.listenerCount() === 1, 'subscription listening');
    await own.stop();
    await waitFor(async () => subscriber.closeCode !== undefined, 'the socket closed');
    expect(subscriber.closeCode).toBe(1001);
    expect(own.events.listenerCount()).toBe(0);
  } finally {
    await subscriber.client.dispose();
    await own.stop();
  }
});
