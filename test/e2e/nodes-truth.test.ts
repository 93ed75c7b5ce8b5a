import 'reflect-metadata';
import type { Syncrep } from '../../src/app';
import { LocalNodes } from '../../harness/nodes';
import { ADMIN_HEADERS, gql, startServer, TEST_ADMIN_TOKEN } from '../support/server';
import { waitAllInSync, waitFor } from '../support/wait';

/** `nodes` and the lag metrics tell the truth: after trimming and restarts, with the leader paused, after a failure. */
let nodes: LocalNodes;
let nextId = 1;

beforeAll(async () => {
  nodes = await LocalNodes.start(2);
});

afterAll(async () => {
  // A test that failed part-way may have left a node frozen; a frozen node cannot be stopped.
  for (const name of ['leader', 'follower-1', 'follower-2']) nodes?.node(name).signalAll('SIGCONT');
  await nodes?.stop();
});

interface NodeView {
  name: string;
  state: string;
  appliedPosition: string | null;
  positionReadAt: string | null;
  lagPositions: number | null;
  lagMs: number | null;
  lagMeasuredAt: string | null;
  lastError: string | null;
  lastErrorAt: string | null;
  stateSince: string;
}

const NODE_FIELDS = 'name state appliedPosition positionReadAt lagPositions lagMs lagMeasuredAt lastError lastErrorAt stateSince';

async function nodeViews(url: string): Promise<Record<string, NodeView>> {
  const result = await gql<{ nodes: NodeView[] }>(url, `{ nodes { ${NODE_FIELDS} } }`, {}, ADMIN_HEADERS);
  if (!result.data) throw new Error(JSON.stringify(result.errors));
  return Object.fromEntries(result.data.nodes.map((n) => [n.name, n]));
}

/** Creates one employee and returns the position its write committed at. */
async function write(url: string): Promise<string> {
  const id = nextId++;
  const result = await gql(url, `mutation { createEmployee(input: { id: ${id}, name: "N${id}", salary: 1 }) { position } }`);
  if (!result.data) throw new Error(JSON.stringify(result.errors));
  return result.data.createEmployee.position as string;
}

/** Starts a server with `env`, runs `body` against it, and stops it. */
async function withServer(env: Record<string, string>, body: (app: Syncrep) => Promise<void>): Promise<void> {
  const app = await startServer(nodes, { ADMIN_TOKEN: TEST_ADMIN_TOKEN, ...env });
  try {
    await body(app);
  } finally {
    await app.stop();
  }
}

const logRows = async (node: string) => Number((await nodes.query<{ n: string }>(node, 'SELECT count(*) AS n FROM syncrep_log'))[0].n);

/** Waits until `nodes` shows every node at `position`. */
async function waitAllAt(url: string, position: string): Promise<void> {
  const all = async () => Object.values(await nodeViews(url)).every((n) => n.appliedPosition === position);
  await waitFor(all, `every node at position ${position} in nodes`);
}

test("after the log is trimmed empty, and after a restart, nodes shows every node's real position", async () => {
  let last = '';
  await withServer({ LOG_RETENTION: '1', HEALTH_INTERVAL_MS: '100' }, async (app) => {
    for (let i = 0; i < 3; i++) last = await write(app.url);
    await waitFor(async () => (await logRows('leader')) === 0 && (await logRows('follower-1')) === 0, 'the logs trimmed empty');
    await waitAllAt(app.url, last);
  });
  // A new server knows nothing but what it reads from the nodes.
  await withServer({}, async (app) => {
    await waitAllAt(app.url, last);
    const seen = await nodeViews(app.url);
    expect(seen.leader).toMatchObject({ lagPositions: 0, lagMs: 0 });
    expect(seen['follower-2']).toMatchObject({ lagPositions: 0, lagMs: 0 });
  });
});

// DB_TIMEOUT_MS is far above this test's own limit: a `nodes` that waited on the paused leader
// would fail the test by its timeout, whatever the machine's speed.
test('with the leader paused, nodes answers from what the monitor knows: every position, the lags as last measured', async () => {
  await withServer({ DB_TIMEOUT_MS: '30000' }, async (app) => {
    const position = await write(app.url);
    await waitAllAt(app.url, position);
    const measured = (await nodeViews(app.url))['follower-1'].lagMeasuredAt;
    nodes.node('leader').signalAll('SIGSTOP');
    try {
      await waitFor(async () => (await nodeViews(app.url)).leader.state === 'DOWN', 'the leader seen DOWN', 15_000);
      // Rounds go on without the leader: followers' positions are read from the followers themselves.
      const before = (await nodeViews(app.url))['follower-1'].positionReadAt!;
      await waitFor(async () => (await nodeViews(app.url))['follower-1'].positionReadAt! > before, 'a round without the leader', 15_000);
      const seen = await nodeViews(app.url);
      expect(seen['follower-1']).toMatchObject({ state: 'IN_SYNC', appliedPosition: position, lagPositions: 0 });
      expect(seen['follower-2']).toMatchObject({ state: 'IN_SYNC', appliedPosition: position, lagPositions: 0 });
      // The leader's own position and the lags are the last known, dated.
      expect(seen.leader.appliedPosition).toBe(position);
      expect(seen['follower-1'].lagMeasuredAt! >= measured!).toBe(true);
      expect(seen['follower-1'].lagMeasuredAt! < seen['follower-1'].positionReadAt!).toBe(true);
    } finally {
      nodes.node('leader').signalAll('SIGCONT');
    }
    await waitAllInSync(app.url);
  });
}, 25_000);

test('a failure is dated (lastErrorAt), and kept after recovery with the time the node came back (stateSince)', async () => {
  await withServer({}, async (app) => {
    await waitAllInSync(app.url);
    const start = new Date().toISOString();
    nodes.node('follower-2').signalAll('SIGSTOP');
    let down: NodeView;
    try {
      await waitFor(async () => (await nodeViews(app.url))['follower-2'].state === 'DOWN', 'follower-2 DOWN');
      down = (await nodeViews(app.url))['follower-2'];
      expect(down.lastError).toEqual(expect.any(String));
      expect(down.lastErrorAt! >= start).toBe(true);
      expect(down.stateSince >= down.lastErrorAt!).toBe(true);
    } finally {
      nodes.node('follower-2').signalAll('SIGCONT');
    }
    await waitAllInSync(app.url);
    const back = (await nodeViews(app.url))['follower-2'];
    expect(back.state).toBe('IN_SYNC');
    expect(back.lastError).toEqual(expect.any(String));
    expect(back.lastErrorAt! >= down.lastErrorAt!).toBe(true);
    expect(back.stateSince > back.lastErrorAt!).toBe(true);
    // Without the token the text stays hidden; the time is public.
    const anonymous = await gql(app.url, '{ nodes { name lastError lastErrorAt } }');
    expect(anonymous.data!.nodes[2]).toEqual({ name: 'follower-2', lastError: null, lastErrorAt: back.lastErrorAt });
  });
});

test('Prometheus shows each follower lag, in positions and seconds, as the monitor measured it', async () => {
  await withServer({ SYNC_MODE: 'quorum', SYNC_QUORUM: '1', METRICS_PORT: '0' }, async (app) => {
    await waitAllInSync(app.url);
    // A lag is measured from a position read from the follower: one never read has none to show.
    const measured = async () => Object.values(await nodeViews(app.url)).every((n) => n.lagMeasuredAt !== null);
    await waitFor(measured, 'a first lag measurement of every node');
    nodes.node('follower-2').signalAll('SIGSTOP');
    try {
      await waitFor(async () => (await nodeViews(app.url))['follower-2'].state === 'DOWN', 'follower-2 DOWN');
      await write(app.url);
      const sample = async (name: string, node: string) => {
        const text = await (await fetch(app.metrics!.url)).text();
        const line = text.split('\n').find((l) => l.startsWith(`${name}{node="${node}"}`));
        return line === undefined ? undefined : Number(line.split(' ').pop());
      };
      await waitFor(async () => ((await sample('syncrep_follower_lag_seconds', 'follower-2')) ?? 0) > 0, 'a lag in seconds for follower-2');
      expect(await sample('syncrep_follower_lag_positions', 'follower-2')).toBe(1);
      expect(await sample('syncrep_follower_lag_positions', 'follower-1')).toBe(0);
      expect(await sample('syncrep_follower_lag_seconds', 'follower-1')).toBe(0);
    } finally {
      nodes.node('follower-2').signalAll('SIGCONT');
    }
    await waitAllInSync(app.url);
  });
});
