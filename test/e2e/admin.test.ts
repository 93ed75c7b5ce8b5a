import 'reflect-metadata';
import type { Syncrep } from '../../src/app';
import { LocalNodes } from '../../harness/nodes';
import { ADMIN_HEADERS, gql, startServer, TEST_ADMIN_TOKEN } from '../support/server';
import { waitAllInSync, waitFor } from '../support/wait';

let nodes: LocalNodes;
/** A server with ADMIN_TOKEN set. */
let app: Syncrep;
/** A server in front of the same nodes with no ADMIN_TOKEN: admin access off. */
let off: Syncrep;

const followerDown = (url: string) => async () => (await nodesAs({}, url)).find((n) => n.name === 'follower-1')?.state === 'DOWN';

beforeAll(async () => {
  nodes = await LocalNodes.start(1);
  app = await startServer(nodes, { ADMIN_TOKEN: TEST_ADMIN_TOKEN });
  off = await startServer(nodes);
  await waitAllInSync(app.url);
  // A stopped follower gives each server a lastError to report (PostgreSQL's or the network's own words).
  await nodes.node('follower-1').stop();
  await waitFor(followerDown(app.url), 'follower-1 reported DOWN');
  await waitFor(followerDown(off.url), 'follower-1 reported DOWN with admin access off');
});

afterAll(async () => {
  await off?.stop();
  await app?.stop();
  await nodes?.stop();
});

interface NodeView {
  name: string;
  role: string;
  state: string;
  lastError: string | null;
  lastContact: string | null;
}

async function nodesAs(headers: Record<string, string>, url = app.url): Promise<NodeView[]> {
  const result = await gql<{ nodes: NodeView[] }>(url, '{ nodes { name role state lastError lastContact } }', {}, headers);
  expect(result.errors).toBeUndefined();
  return result.data!.nodes;
}

test("with the admin token, nodes shows the down follower's lastError", async () => {
  const follower = (await nodesAs(ADMIN_HEADERS)).find((n) => n.name === 'follower-1')!;
  expect(follower.state).toBe('DOWN');
  expect(follower.lastError).toEqual(expect.any(String));
  expect(follower.lastError!.length).toBeGreaterThan(0);
});

test.each([
  ['no Authorization header', {}],
  ['a wrong token', { authorization: `Bearer ${TEST_ADMIN_TOKEN}x` }],
  ['a wrong token of the same length', { authorization: `Bearer ${TEST_ADMIN_TOKEN.slice(0, -1)}x` }],
  ['another scheme', { authorization: `Basic ${Buffer.from(`admin:${TEST_ADMIN_TOKEN}`).toString('base64')}` }],
])('with %s, nodes answers without error but every lastError is null; the rest stays public', async (_what, headers) => {
  const seen = await nodesAs(headers);
  expect(seen.map((n) => n.lastError)).toEqual([null, null]);
  expect(seen.map(({ name, role, state }) => ({ name, role, state }))).toEqual([
    { name: 'leader', role: 'LEADER', state: 'UP' },
    { name: 'follower-1', role: 'FOLLOWER', state: 'DOWN' },
  ]);
  expect(Date.parse(seen[0].lastContact!)).not.toBeNaN();
});

test('with REPLICATION_NODES and no ADMIN_TOKEN, admin access is off: lastError is null even for a bearer token', async () => {
  for (const headers of [ADMIN_HEADERS, { authorization: 'Bearer ' }]) {
    const seen = await nodesAs(headers, off.url);
    expect(seen.map(({ name, state, lastError }) => ({ name, state, lastError }))).toEqual([
      { name: 'leader', state: 'UP', lastError: null },
      { name: 'follower-1', state: 'DOWN', lastError: null },
    ]);
  }
});

describe.each([
  ['consistency', '{ consistency { consistent } }'],
  ['resyncNode', 'mutation { resyncNode(node: "follower-1") { state } }'],
])('%s is admin only', (_name, operation) => {
  const attempt = async (url: string, headers: Record<string, string>) => {
    const result = await gql(url, operation, {}, headers);
    expect(result.data ?? null).toBeNull();
    return { code: result.errors?.[0]?.extensions?.code, message: result.errors?.[0]?.message ?? '' };
  };

  test('without a bearer token: UNAUTHENTICATED, saying how to send it; nothing is run', async () => {
    const sent: Record<string, string>[] = [{}, { authorization: `Basic ${TEST_ADMIN_TOKEN}` }, { authorization: 'Bearer' }];
    for (const headers of sent) {
      const { code, message } = await attempt(app.url, headers);
      expect(code).toBe('UNAUTHENTICATED');
      expect(message).toMatch(/Authorization: Bearer/);
    }
    // The rebuild was never started: the stopped follower is still reported DOWN, not NEEDS_RESYNC.
    expect((await nodesAs(ADMIN_HEADERS)).find((n) => n.name === 'follower-1')?.state).toBe('DOWN');
  });

  test('with a wrong token: FORBIDDEN, never echoing what was sent', async () => {
    for (const token of [`${TEST_ADMIN_TOKEN}x`, TEST_ADMIN_TOKEN.slice(0, -1) + 'x', 'x']) {
      const { code, message } = await attempt(app.url, { authorization: `Bearer ${token}` });
      expect(code).toBe('FORBIDDEN');
      expect(message).not.toContain(token);
    }
  });

  test('with admin access off: FORBIDDEN, naming ADMIN_TOKEN, even for a bearer token', async () => {
    const { code, message } = await attempt(off.url, ADMIN_HEADERS);
    expect(code).toBe('FORBIDDEN');
    expect(message).toContain('ADMIN_TOKEN');
  });
});
