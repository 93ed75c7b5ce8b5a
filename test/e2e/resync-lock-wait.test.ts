import 'reflect-metadata';
import { Client } from 'pg';
import type { Syncrep } from '../../src/app';
import { LocalNodes } from '../../harness/nodes';
import { ADMIN_HEADERS, TEST_ADMIN_TOKEN, errorCode, gql, startServer, type GqlResponse } from '../support/server';
import { waitAllInSync, waitFor } from '../support/wait';

/**
 * An operator's resyncNode on server B waits for the node's lock while another actor holds it
 * (here a session standing for server A's rebuild, which marks the follower on the node and
 * records it on the leader as left out of writes). Meanwhile A's writes leave the follower out,
 * so it lacks them: B must stop serving reads from it at its next health round, as it would
 * without the waiting resync, and not once the wait ends (DB_TIMEOUT_MS, a minute here).
 */
const NODE_LOCK = 7_361_626_001;
const NODES = ['leader', 'follower-1', 'follower-2'];

let nodes: LocalNodes;
let a: Syncrep;
let b: Syncrep;

beforeAll(async () => {
  nodes = await LocalNodes.start(2);
  const env = { ADMIN_TOKEN: TEST_ADMIN_TOKEN, DB_TIMEOUT_MS: '60000' };
  a = await startServer(nodes, env);
  b = await startServer(nodes, env);
});

afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await nodes?.stop();
});

const create = (id: number) => `mutation { createEmployee(input: { id: ${id}, name: "E${id}", salary: 1 }) { committedOn } }`;
const readOn = (id: number) => `{ employee(id: ${id}, readFrom: { node: "follower-1" }) { id } }`;
const stateOf = async (server: Syncrep, name: string) =>
  ((await gql(server.url, '{ nodes { name state } }')).data!.nodes as { name: string; state: string }[]).find((n) => n.name === name)!
    .state;

test('a resyncNode waiting for a node another actor holds does not keep that node in service: the follower lacking a write is not read', async () => {
  expect((await gql(b.url, create(1))).errors).toBeUndefined();
  await waitAllInSync(a.url);
  await waitAllInSync(b.url);
  const other = new Client({ connectionString: nodes.node('follower-1').url });
  await other.connect();
  let resync: Promise<GqlResponse> | undefined;
  try {
    await other.query('SELECT pg_advisory_lock($1)', [NODE_LOCK]);
    resync = gql(b.url, 'mutation { resyncNode(node: "follower-1") { state } }', {}, ADMIN_HEADERS);
    await waitFor(
      async () => (await nodes.query('follower-1', "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")).length > 0,
      "B's resyncNode waiting for follower-1's lock",
    );
    // The other actor's first step of a rebuild: marked on the node, then recorded on the leader.
    await nodes.query(
      'follower-1',
      "INSERT INTO syncrep_divergence (id, kind, reason) VALUES (1, 'rebuilding', 'rebuild requested elsewhere')",
    );
    await nodes.query('leader', "INSERT INTO syncrep_excluded (node, epoch, reason) VALUES ('follower-1', 0, 'marked rebuilding')");
    await waitFor(async () => (await stateOf(a, 'follower-1')) !== 'IN_SYNC', 'server A leaving follower-1 out');
    const written = await gql(a.url, create(2));
    expect(written.errors).toBeUndefined();
    expect(written.data!.createEmployee.committedOn).toEqual(['leader', 'follower-2']);
    expect(await nodes.query('follower-1', 'SELECT id FROM emp WHERE id = 2')).toEqual([]);

    // Well before B's resync gives up waiting (a minute), B stops reading from follower-1.
    await waitFor(async () => (await stateOf(b, 'follower-1')) !== 'IN_SYNC', 'server B taking follower-1 out of service', 15_000);
    const pinned = await gql(b.url, readOn(2));
    expect(errorCode(pinned)).toBe('NODE_UNAVAILABLE');
    const anywhere = await gql(b.url, '{ employee(id: 2) { id } }');
    expect(anywhere.errors).toBeUndefined();
    expect(anywhere.data!.employee).toEqual({ id: 2 });
    expect(anywhere.extensions?.replication?.servedBy).not.toBe('follower-1');
  } finally {
    // The other actor ends (its session dies) with its rebuild unfinished: B's resync takes over.
    await other.end();
  }
  const rebuilt = await resync;
  expect(rebuilt.errors).toBeUndefined();
  expect(rebuilt.data!.resyncNode.state).toBe('IN_SYNC');
  await waitAllInSync(a.url);
  await waitAllInSync(b.url);
  expect((await gql(b.url, readOn(2))).data!.employee).toEqual({ id: 2 });
  const leaderRows = await nodes.rows('leader');
  for (const node of NODES) {
    expect(await nodes.rows(node)).toEqual(leaderRows);
    expect(await nodes.prepared(node)).toEqual([]);
  }
  expect(await nodes.query('leader', 'SELECT node FROM syncrep_excluded')).toEqual([]);
  const next = await gql(b.url, create(3));
  expect(next.data?.createEmployee.committedOn).toEqual(NODES);
});

test('a resyncNode that finds the node held past DB_TIMEOUT_MS answers NODE_BUSY and changes nothing', async () => {
  const quick = await startServer(nodes, { ADMIN_TOKEN: TEST_ADMIN_TOKEN, DB_TIMEOUT_MS: '1000' });
  const other = new Client({ connectionString: nodes.node('follower-2').url });
  await other.connect();
  try {
    await other.query('SELECT pg_advisory_lock($1)', [NODE_LOCK]);
    const before = await nodes.rows('follower-2');
    const refused = await gql(quick.url, 'mutation { resyncNode(node: "follower-2") { state } }', {}, ADMIN_HEADERS);
    expect(errorCode(refused)).toBe('NODE_BUSY');
    expect(refused.errors![0].message).toMatch(/held by another action.*nothing was changed/);
    expect(refused.errors![0].extensions!.node).toBe('follower-2');
    expect(await nodes.rows('follower-2')).toEqual(before);
    expect(await nodes.query('follower-2', 'SELECT kind FROM syncrep_divergence')).toEqual([]);
  } finally {
    await other.end();
    await quick.stop();
  }
});
