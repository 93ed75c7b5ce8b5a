import 'reflect-metadata';
import type { Syncrep } from '../../src/app';
import { LocalNodes } from '../../harness/nodes';
import { load } from '../support/outcomes';
import { gql, startServer } from '../support/server';
import { waitFor } from '../support/wait';

/**
 * A timed-out wait prints what every server saw and, for a node marked diverged, which earlier
 * positions it lacks.
 *
 * Three servers with AUTO_FAILOVER on one cluster, bank transfers through all three; the leader is
 * SIGKILLed, and later restarted. Exactly one promotion happens (the epoch moves by one), every
 * server names the same leader, writes resume through every server, and the old leader rejoins as
 * a follower holding the same rows as the others, bank total kept on every node.
 */
const ACCOUNTS = 10;
let nodes: LocalNodes;
const servers: Syncrep[] = [];

beforeAll(async () => {
  nodes = await LocalNodes.start(2);
  for (let i = 0; i < 3; i++)
    servers.push(
      await startServer(nodes, { AUTO_FAILOVER: 'true', FAILOVER_AFTER_MS: '1000', LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    );
});

afterAll(async () => {
  for (const server of servers) await server.stop();
  await nodes?.stop();
});

type Seen = { name: string; role: string; state: string; clusterEpoch: string }[];
/** Every server's view, with each node's last error: what a timed-out wait ended in. */
const views = async (): Promise<string> =>
  JSON.stringify(
    await Promise.all(
      servers.map(async (server) => (await gql(server.url, '{ nodes { name role state clusterEpoch lastError } }')).data?.nodes),
    ),
  );
/**
 * For a node marked diverged at a position: the rows that position expected there, what the node
 * holds, and each earlier position of the leader's log that touched those rows, with whether the
 * node holds it (what a rebuild or replay missed).
 */
async function explainDivergence(): Promise<string> {
  const leader = (await seen(servers[0]))[0]?.name;
  const out: string[] = [];
  for (const name of ['leader', 'follower-1', 'follower-2']) {
    if (name === leader) continue;
    const [mark] = await nodes.query<{ reason: string }>(name, 'SELECT reason FROM syncrep_divergence').catch(() => []);
    const at = mark?.reason.match(/position (\d+)/)?.[1];
    if (!at) continue;
    const [entry] = await nodes.query<{ changes: { rows: { id: number }[]; before?: unknown[] }[] }>(
      leader,
      'SELECT changes FROM syncrep_log WHERE position = $1',
      [at],
    );
    const ids = (entry?.changes ?? []).flatMap((c) => c.rows.map((r) => r.id));
    const here = await nodes.query(name, 'SELECT * FROM emp WHERE id = ANY($1) ORDER BY id', [ids]);
    const touching = await nodes.query<{ position: string; changes: unknown }>(
      leader,
      "SELECT position::text AS position, changes FROM syncrep_log WHERE syncrep_log.position < $2::bigint AND EXISTS (SELECT 1 FROM jsonb_array_elements(changes) c, jsonb_array_elements(c->'rows') r WHERE (r->>'id')::int = ANY($1)) ORDER BY syncrep_log.position DESC LIMIT 8",
      [ids, at],
    );
    const held = [];
    for (const { position, changes } of touching) {
      const [h] = await nodes.query<{ applied: boolean; logged: boolean; below: boolean }>(
        name,
        'SELECT EXISTS (SELECT 1 FROM syncrep_applied WHERE position = $1) AS applied, EXISTS (SELECT 1 FROM syncrep_log WHERE position = $1) AS logged, $1 <= (SELECT upto FROM syncrep_watermark) AS below',
        [position],
      );
      const moves = (changes as { rows: { id: number; salary: number }[]; before?: { id: number; salary: number }[] }[]).map((c) =>
        c.rows.map((r, i) => `${r.id}:${c.before?.[i]?.salary}->${r.salary}`).join(' '),
      );
      held.push({ position, moves, ...h });
    }
    out.push(JSON.stringify({ node: name, mark: mark.reason, expected: entry?.changes.map((c) => c.before), here, earlier: held }));
  }
  return out.join('; ');
}

const seen = async (server: Syncrep): Promise<Seen> =>
  ((await gql(server.url, '{ nodes { name role state clusterEpoch } }')).data?.nodes as Seen) ?? [];

test('three servers with AUTO_FAILOVER: one promotion per leader loss, one leader named by all, writes through every server, the old leader back in sync', async () => {
  const inputs = Array.from({ length: ACCOUNTS }, (_, i) => `{ id: ${i + 1}, name: "A${i + 1}", salary: 1000 }`).join(', ');
  expect((await gql(servers[0].url, `mutation { createEmployees(inputs: [${inputs}]) { position } }`)).errors).toBeUndefined();
  const loads = servers.map((server, s) =>
    load(server.url, 2, (lane, i) => {
      const from = ((s * 3 + lane * 7 + i * 3) % ACCOUNTS) + 1;
      const to = ((s + lane * 3 + i * 5 + 1) % ACCOUNTS) + 1;
      if (from === to) return undefined;
      return { key: i, query: `mutation { transferSalary(fromId: ${from}, toId: ${to}, amount: ${1 + (i % 3)}) { position } }` };
    }),
  );
  const acknowledged = (s: number) => loads[s].outcomes.acknowledged.length;
  await waitFor(async () => [0, 1, 2].every((s) => acknowledged(s) >= 10), '10 transfers through each server');

  nodes.node('leader').signalAll('SIGKILL');
  await waitFor(
    async () => (await Promise.all(servers.map(seen))).every((view) => view[0]?.clusterEpoch === '1' && view[0].state === 'UP'),
    'every server at epoch 1 with a new leader UP',
    30_000,
    views,
  );
  const leaders = (await Promise.all(servers.map(seen))).map((view) => view[0].name);
  expect(new Set(leaders).size).toBe(1);
  expect(['follower-1', 'follower-2']).toContain(leaders[0]);
  const before = [0, 1, 2].map(acknowledged);
  await waitFor(
    async () => [0, 1, 2].every((s) => acknowledged(s) >= before[s] + 10),
    '10 more transfers through each server',
    30_000,
    async () => `acknowledged ${[0, 1, 2].map(acknowledged).join(',')} since ${before.join(',')}; ${await views()}`,
  );

  await nodes.node('leader').start();
  await waitFor(
    async () =>
      (await Promise.all(servers.map(seen))).every(
        (view) =>
          // Three nodes named: a server answering with errors (no nodes) is not in service.
          view.length === 3 &&
          view.every((n) => (n.name === leaders[0] ? n.state === 'UP' : n.role === 'FOLLOWER' && n.state === 'IN_SYNC')),
      ),
    'every server with every node in service',
    60_000,
    async () => `${await views()}; ${await explainDivergence()}`,
  );
  await Promise.all(loads.map((l) => l.stop()));

  for (const view of await Promise.all(servers.map(seen))) {
    expect(view[0].name).toBe(leaders[0]);
    expect(view.map((n) => n.clusterEpoch)).toEqual(['1', '1', '1']);
  }
  const reference = await nodes.rows(leaders[0]);
  for (const name of ['leader', 'follower-1', 'follower-2']) {
    expect(await nodes.query(name, 'SELECT epoch::text AS epoch, leader FROM syncrep_epoch')).toEqual([{ epoch: '1', leader: leaders[0] }]);
    expect([name, (await nodes.rows(name)).filter((r) => r.id <= ACCOUNTS).reduce((sum, r) => sum + r.salary, 0)]).toEqual([
      name,
      ACCOUNTS * 1000,
    ]);
    expect([name, await nodes.rows(name)]).toEqual([name, reference]);
    expect([name, await nodes.prepared(name)]).toEqual([name, []]);
  }
}, 240_000);
