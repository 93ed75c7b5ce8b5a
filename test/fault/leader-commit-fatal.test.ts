import 'reflect-metadata';
import type { Syncrep } from '../../src/app';
import { LocalNodes } from '../../harness/nodes';
import { errorCode, gql, startServer } from '../support/server';
import { waitFor } from '../support/wait';

/**
 * Hostile operator: the leader runs with a synchronous physical standby (an ordinary HA setup).
 * A COMMIT then waits for the standby after it has committed locally. If the leader session is
 * terminated in that wait (pg_terminate_backend, a fast shutdown, a failover tool), PostgreSQL
 * sends a FATAL ErrorResponse for the COMMIT, although the transaction has committed locally
 * ("The transaction has already committed locally, but might not have been replicated").
 * The write path must not take that FATAL for "not committed" and roll the followers back: the
 * write is "outcome unknown", and the in-doubt resolver commits the followers from the leader's log.
 */
let nodes: LocalNodes;
let app: Syncrep;

beforeAll(async () => {
  nodes = await LocalNodes.start(2);
  app = await startServer(nodes, { DB_TIMEOUT_MS: '15000' });
  const seeded = await gql(app.url, 'mutation { createEmployee(input: { id: 1, name: "Seed", salary: 100 }) { position } }');
  expect(seeded.errors).toBeUndefined();
});

afterAll(async () => {
  await nodes?.query('leader', 'ALTER SYSTEM RESET synchronous_standby_names').catch(() => undefined);
  await app?.stop();
  await nodes?.stop();
});

test('leader session terminated while its COMMIT waits for a sync standby: nodes must stay identical', async () => {
  await nodes.query('leader', "ALTER SYSTEM SET synchronous_standby_names = 'ghost_standby'");
  await nodes.query('leader', 'SELECT pg_reload_conf()');
  await waitFor(
    async () =>
      (await nodes.query<{ s: string }>('leader', 'SELECT current_setting($1) AS s', ['synchronous_standby_names']))[0].s ===
      'ghost_standby',
    'the reload to reach new sessions',
  );
  const write = gql(app.url, 'mutation { updateEmployee(id: 1, input: { salary: 200 }) { position } }');
  // The write's COMMIT travels with its log row; other sessions (the log trimmer's) may wait too.
  const waiting = "wait_event = 'SyncRep' AND query LIKE '%INSERT INTO syncrep_log%'";
  await waitFor(
    async () => (await nodes.query('leader', `SELECT 1 FROM pg_stat_activity WHERE ${waiting}`)).length === 1,
    'the COMMIT to wait for the standby',
  );
  await nodes.query('leader', `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE ${waiting}`);
  await nodes.query('leader', 'ALTER SYSTEM RESET synchronous_standby_names');
  await nodes.query('leader', 'SELECT pg_reload_conf()');
  const result = await write;
  // The leader committed locally before its session was ended: the client cannot be told either way.
  expect(errorCode(result)).toBe('LEADER_UNAVAILABLE');
  expect(result.errors![0].extensions!.outcomeUnknown).toBe(true);
  const leader = await nodes.rows('leader');
  expect(leader).toEqual([{ id: 1, name: 'Seed', salary: 200 }]);
  await waitFor(
    async () => (await nodes.prepared('follower-1')).length + (await nodes.prepared('follower-2')).length === 0,
    'in-doubt settled',
    20_000,
  );
  expect(await nodes.rows('follower-1')).toEqual(leader);
  expect(await nodes.rows('follower-2')).toEqual(leader);
});

test('afterwards the row is still writable on every node: no follower is left diverged by the unknown outcome', async () => {
  await waitFor(
    async () =>
      (await gql(app.url, '{ nodes { state } }')).data?.nodes.every((n: { state: string }) => ['UP', 'IN_SYNC'].includes(n.state)),
    'every node back',
  );
  const result = await gql(app.url, 'mutation { updateEmployee(id: 1, input: { salary: 300 }) { position } }');
  expect(result.errors).toBeUndefined();
  for (const node of ['leader', 'follower-1', 'follower-2']) expect(await nodes.rows(node)).toEqual([{ id: 1, name: 'Seed', salary: 300 }]);
});
