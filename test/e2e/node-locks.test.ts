import { LocalNodes } from '../../harness/nodes';
import type { PgNode } from '../../src/replication/nodes/cluster-node';
import { NodeBusyError, NodeLocks } from '../../src/replication/nodes/node-lock';

/**
 * The node lock: one actor per node across servers (two NodeLocks stand for two servers) and
 * within one, held on one kept session per node, lost with that session.
 */
let nodes: LocalNodes;
let node: PgNode;
const servers: NodeLocks[] = [];

beforeAll(async () => {
  nodes = await LocalNodes.start(0);
  node = { name: 'leader', url: nodes.node('leader').url } as PgNode;
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

afterAll(async () => {
  await nodes?.stop();
});

function server(name: string): NodeLocks {
  const locks = new NodeLocks(name, 5_000);
  servers.push(locks);
  return locks;
}

/** Resolves once `release` is called; the action holding the lock meanwhile. */
function holding(): { work: () => Promise<void>; release: () => void; started: Promise<void> } {
  let release!: () => void;
  let started!: () => void;
  const done = new Promise<void>((resolve) => (release = resolve));
  const begun = new Promise<void>((resolve) => (started = resolve));
  return { work: () => (started(), done), release, started: begun };
}

const sessionsOf = async (name: string) =>
  (await nodes.query<{ n: number }>('leader', 'SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [name]))[0].n;

test('while one action holds a node, another of the same server or of another is refused, and runs once it is free', async () => {
  const a = server('syncrep a');
  const b = server('syncrep b');
  const first = holding();
  const running = a.exclusively(node, 'first', first.work);
  await first.started;
  await expect(a.exclusively(node, 'same server', async () => 'ran')).rejects.toBeInstanceOf(NodeBusyError);
  await expect(b.exclusively(node, 'other server', async () => 'ran')).rejects.toBeInstanceOf(NodeBusyError);
  first.release();
  await running;
  expect(await a.exclusively(node, 'same server', async () => 'ran')).toBe('ran');
  expect(await b.exclusively(node, 'other server', async () => 'ran')).toBe('ran');
});

test('actions that wait take turns, never together, and every action of a server shares one session per node', async () => {
  const a = server('syncrep turns');
  const b = server('syncrep other');
  let inside = 0;
  let most = 0;
  const action = (locks: NodeLocks) =>
    locks.exclusively(
      node,
      'turn',
      async () => {
        inside += 1;
        most = Math.max(most, inside);
        await new Promise((resolve) => setTimeout(resolve, 20));
        inside -= 1;
      },
      4_000,
    );
  await Promise.all([...Array.from({ length: 6 }, () => action(a)), ...Array.from({ length: 6 }, () => action(b))]);
  expect(most).toBe(1);
  expect(await sessionsOf('syncrep turns')).toBe(1);
  await a.stop();
  expect(await sessionsOf('syncrep turns')).toBe(0);
});

test('a lock whose session ends (a restart, a barrier) is lost: held() fails and another server may take it', async () => {
  const a = server('syncrep lost');
  const b = server('syncrep taker');
  const outcome = a.exclusively(node, 'long', async (held) => {
    await held();
    await nodes.query('leader', "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'syncrep lost'");
    expect(await b.exclusively(node, 'after the loss', async () => 'taken')).toBe('taken');
    await held();
  });
  await expect(outcome).rejects.toThrow(/the lock on leader was lost/);
  // The server takes it again on a fresh session.
  expect(await a.exclusively(node, 'again', async () => 'again')).toBe('again');
});

test('an action that gives up waiting leaves the lock with its holder: the next one is still refused', async () => {
  const a = server('syncrep waiter');
  const first = holding();
  const running = a.exclusively(node, 'long', first.work);
  await first.started;
  await expect(a.exclusively(node, 'short wait', async () => 'ran', 200)).rejects.toBeInstanceOf(NodeBusyError);
  await expect(a.exclusively(node, 'next', async () => 'ran')).rejects.toBeInstanceOf(NodeBusyError);
  first.release();
  await running;
  expect(await a.exclusively(node, 'next', async () => 'ran')).toBe('ran');
});
