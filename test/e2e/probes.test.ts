import 'reflect-metadata';
import type { Syncrep } from '../../src/app';
import { LocalNodes } from '../../harness/nodes';
import { startServer } from '../support/server';
import { waitAllInSync, waitFor } from '../support/wait';

/** `/healthz` and `/readyz` on the GraphQL port, as a load balancer or Kubernetes probes them. */
let nodes: LocalNodes;
let all: Syncrep;
let quorum: Syncrep;

beforeAll(async () => {
  nodes = await LocalNodes.start(2);
  all = await startServer(nodes);
  quorum = await startServer(nodes, { SYNC_MODE: 'quorum', SYNC_QUORUM: '1' });
  await waitAllInSync(all.url);
  await waitAllInSync(quorum.url);
});

afterAll(async () => {
  await quorum?.stop();
  await all?.stop();
  await nodes?.stop();
});

const probe = async (url: string, path: string) => {
  const response = await fetch(new URL(path, url));
  return {
    status: response.status,
    body: (await response.json()) as { ready?: boolean; reasons?: string[]; nodes?: { name: string; state: string }[] },
  };
};

test('healthz answers 200 while the process is up; readyz 200 with every node state when writes can commit', async () => {
  expect(await probe(all.url, '/healthz')).toEqual({ status: 200, body: { status: 'ok' } });
  const ready = await probe(all.url, '/readyz');
  expect(ready.status).toBe(200);
  expect(ready.body).toMatchObject({ ready: true, reasons: [] });
  expect(ready.body.nodes!.map((n) => [n.name, n.state])).toEqual([
    ['leader', 'UP'],
    ['follower-1', 'IN_SYNC'],
    ['follower-2', 'IN_SYNC'],
  ]);
});

test('a follower down: not ready in sync mode all (naming it), still ready in quorum 1; ready again once it is back', async () => {
  await nodes.node('follower-2').stop();
  try {
    await waitFor(async () => (await probe(all.url, '/readyz')).status === 503, 'readyz 503 in mode all');
    const notReady = await probe(all.url, '/readyz');
    expect(notReady.body.ready).toBe(false);
    expect(notReady.body.reasons).toEqual([expect.stringContaining('follower-2')]);
    await waitFor(
      async () => (await probe(quorum.url, '/readyz')).body.nodes!.some((n) => n.state === 'DOWN'),
      'quorum server sees it down',
    );
    expect((await probe(quorum.url, '/readyz')).status).toBe(200);
    expect((await probe(all.url, '/healthz')).status).toBe(200);
  } finally {
    await nodes.node('follower-2').start();
  }
  await waitAllInSync(all.url);
  await waitFor(async () => (await probe(all.url, '/readyz')).status === 200, 'readyz 200 again');
});

test('the leader down: not ready in either mode, saying so; the process is still healthy', async () => {
  await nodes.node('leader').stop();
  try {
    for (const server of [all, quorum]) {
      await waitFor(async () => (await probe(server.url, '/readyz')).status === 503, 'readyz 503 with the leader down');
      expect((await probe(server.url, '/readyz')).body.reasons).toContain('the leader is down');
      expect((await probe(server.url, '/healthz')).status).toBe(200);
    }
  } finally {
    await nodes.node('leader').start();
  }
  await waitAllInSync(all.url);
});

test('a body that is not JSON is a 400 with a JSON error, not a stack trace', async () => {
  const response = await fetch(all.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query": ' });
  expect(response.status).toBe(400);
  expect(await response.json()).toEqual({ errors: [{ message: expect.any(String) }] });
});
