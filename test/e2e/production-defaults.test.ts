import 'reflect-metadata';
import { request } from 'node:http';
import type { Syncrep } from '../../src/app';
import { LocalNodes } from '../../harness/nodes';
import { ServerProcess } from '../../harness/server-process';
import { gql, startServer } from '../support/server';

/** What a server open to the world does by default, and what the settings change. */
let nodes: LocalNodes;
let dev: Syncrep;
let production: Syncrep;
let opened: Syncrep;

const APP = 'https://app.example.com';

beforeAll(async () => {
  nodes = await LocalNodes.start(0);
  dev = await startServer(nodes);
  production = await startServer(nodes, { NODE_ENV: 'production', CORS_ORIGINS: APP, REQUEST_TIMEOUT_MS: '1000' });
  opened = await startServer(nodes, { NODE_ENV: 'production', INTROSPECTION: 'true' });
});

afterAll(async () => {
  for (const server of [opened, production, dev]) await server?.stop();
  await nodes?.stop();
});

const INTROSPECT = '{ __schema { queryType { name } } }';

test('introspection and the Sandbox page: on by default, off in production, back on with INTROSPECTION=true', async () => {
  expect((await gql(dev.url, INTROSPECT)).data).toEqual({ __schema: { queryType: { name: 'Query' } } });
  expect((await gql(production.url, INTROSPECT)).errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  expect((await gql(opened.url, INTROSPECT)).data).toEqual({ __schema: { queryType: { name: 'Query' } } });
  const page = (url: string) => fetch(url, { headers: { accept: 'text/html' } });
  const devPage = await page(dev.url);
  expect(devPage.status).toBe(200);
  expect(await devPage.text()).toMatch(/sandbox/i);
  expect(await (await page(production.url)).text()).not.toMatch(/sandbox/i);
});

test('CORS: any origin by default; with CORS_ORIGINS only those, and a preflight from another gets no grant', async () => {
  const preflight = (url: string, origin: string) =>
    fetch(url, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
  expect((await preflight(dev.url, 'https://evil.example')).headers.get('access-control-allow-origin')).toBe('*');
  expect((await preflight(production.url, APP)).headers.get('access-control-allow-origin')).toBe(APP);
  expect((await preflight(production.url, 'https://evil.example')).headers.get('access-control-allow-origin')).toBeNull();
  // Production without CORS_ORIGINS grants no other origin at all.
  expect((await preflight(opened.url, APP)).headers.get('access-control-allow-origin')).toBeNull();
});

test('a body past the limit is refused (413) before it is parsed; the largest real request still fits', async () => {
  const huge = JSON.stringify({ query: '{ __typename }', variables: { pad: 'x'.repeat(6 * 1024 * 1024) } });
  const refused = await fetch(dev.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: huge });
  expect(refused.status).toBe(413);
  expect(await refused.json()).toEqual({ errors: [{ message: expect.stringMatching(/too large/i) }] });
  // createEmployees of 10,000 inputs with 200-character names, the most one request may carry.
  const inputs = Array.from({ length: 10_000 }, (_, i) => ({ id: 2_147_000_000 + i, name: 'n'.repeat(200), salary: 2_147_483_647 }));
  const created = await gql(dev.url, 'mutation ($inputs: [CreateEmployeeInput!]!) { createEmployees(inputs: $inputs) { position } }', {
    inputs,
  });
  expect(created.errors).toBeUndefined();
});

test('6 MB bodies, eight at a time, are refused (413) without being kept: a second flood does not grow the server', async () => {
  const server = await ServerProcess.start(nodes.replicationNodes, {});
  try {
    const body = Buffer.alloc(6 * 1024 * 1024, 'x');
    const flood = () =>
      Promise.all(
        Array.from({ length: 8 }, () =>
          fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body }).then((r) => r.status),
        ),
      );
    // The first flood warms the socket buffers up; if bodies were kept, each flood would add 48 MB.
    expect(await flood()).toEqual(Array(8).fill(413));
    const before = server.rss();
    expect(await flood()).toEqual(Array(8).fill(413));
    expect(await flood()).toEqual(Array(8).fill(413));
    expect(server.rss() - before).toBeLessThan(24 * 1024 * 1024);
  } finally {
    await server.stop();
  }
});

test('a client that sends its body too slowly is cut off (REQUEST_TIMEOUT_MS) instead of being held open', async () => {
  const { hostname, port } = new URL(production.url);
  const closed = await new Promise<number | 'closed'>((resolve) => {
    const req = request({
      hostname,
      port,
      method: 'POST',
      path: '/',
      headers: { 'content-type': 'application/json', 'content-length': '100' },
    });
    req.on('response', (res) => resolve(res.statusCode ?? 0));
    req.on('error', () => resolve('closed'));
    req.write('{"query":');
    // Never finishes the body: the server's request timeout ends it.
  });
  expect([408, 'closed']).toContain(closed);
});
