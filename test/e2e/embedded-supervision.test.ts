import 'reflect-metadata';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { LocalNodes } from '../../harness/nodes';
import type { Syncrep } from '../../src/app';
import { EmbeddedSupervisor } from '../../src/embedded/embedded-supervisor';
import type { Logger } from '../../src/logger';
import { postmasterPid, startEmbeddedServer } from '../support/embedded';
import { gql } from '../support/server';
import { waitAllInSync, waitFor } from '../support/wait';

// The embedded cluster `npm start` runs, in a folder of its own. Quorum 1: writes go on while a
// follower is away, so it has something to catch up on when it comes back.
let dir: string;
let dataDir: string;
let app: Syncrep;
let nextId = 1000;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'syncrep-supervision-'));
  // As root the nodes run as the postgres user, which must be able to enter it.
  await chmod(dir, 0o755);
  dataDir = path.join(dir, 'data');
  app = await startEmbeddedServer(dataDir, 2, { SYNC_MODE: 'quorum', SYNC_QUORUM: '1' });
});

afterAll(async () => {
  await app?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Creates a new employee; its committedOn, or undefined when the write failed. */
async function write(id: number): Promise<string[] | undefined> {
  const result = await gql(app.url, `mutation { createEmployee(input: { id: ${id}, name: "E${id}", salary: 1 }) { committedOn } }`);
  return result.data?.createEmployee.committedOn;
}

async function nameOn(readFrom: string, id: number): Promise<string | undefined> {
  const result = await gql(app.url, `{ employee(id: ${id}, readFrom: ${readFrom}) { name } }`);
  return result.data?.employee?.name;
}

async function stateOf(node: string): Promise<string | undefined> {
  const result = await gql(app.url, '{ nodes { name state } }').catch(() => undefined);
  return result?.data?.nodes.find((n: { name: string }) => n.name === node)?.state;
}

/** Waits until a new postmaster runs on the node's data folder: the supervisor restarted it. */
function waitRestarted(node: string, killed: number): Promise<void> {
  const nodeDir = path.join(dataDir, node);
  return waitFor(async () => (await postmasterPid(nodeDir).catch(() => killed)) !== killed, `${node}'s postmaster restarted`, 90_000);
}

test('a follower whose postmaster is SIGKILLed is restarted and comes back IN_SYNC with the write it missed', async () => {
  await waitAllInSync(app.url);
  const killed = await postmasterPid(path.join(dataDir, 'follower-1'));
  process.kill(killed, 'SIGKILL');

  // Writes go on without it; one that committed without follower-1 was made while it was away.
  let missed = 0;
  await waitFor(
    async () => {
      const id = nextId++;
      const committedOn = await write(id);
      if (committedOn && !committedOn.includes('follower-1')) missed = id;
      return missed !== 0;
    },
    'a write committed without follower-1',
    60_000,
  );

  await waitRestarted('follower-1', killed);
  await waitFor(async () => (await stateOf('follower-1')) === 'IN_SYNC', 'follower-1 IN_SYNC again', 90_000);
  expect(await nameOn('{ node: "follower-1" }', missed)).toBe(`E${missed}`);
});

test('a leader whose postmaster is SIGKILLed is restarted, and writes work again', async () => {
  await waitAllInSync(app.url);
  const killed = await postmasterPid(path.join(dataDir, 'leader'));
  process.kill(killed, 'SIGKILL');
  await waitRestarted('leader', killed);

  let written = 0;
  await waitFor(
    async () => {
      const id = nextId++;
      if (await write(id)) written = id;
      return written !== 0;
    },
    'a write accepted after the leader came back',
    90_000,
  );
  expect(await nameOn('{ role: LEADER }', written)).toBe(`E${written}`);
  await waitAllInSync(app.url, 90_000);
  for (const follower of ['follower-1', 'follower-2']) expect(await nameOn(`{ node: "${follower}" }`, written)).toBe(`E${written}`);
});

/** A pino logger that keeps its lines, and tells when one carries `message`. */
function capturingLogger(): { log: Logger; lines: Record<string, unknown>[]; logged: (message: string) => Promise<void> } {
  const lines: Record<string, unknown>[] = [];
  const waiting: { message: string; resolve: () => void }[] = [];
  const log = pino(
    { level: 'info' },
    {
      write(line: string) {
        const entry = JSON.parse(line) as Record<string, unknown>;
        lines.push(entry);
        for (const wait of waiting) if (entry.msg === wait.message) wait.resolve();
      },
    },
  );
  const logged = (message: string): Promise<void> =>
    lines.some((entry) => entry.msg === message) ? Promise.resolve() : new Promise((resolve) => waiting.push({ message, resolve }));
  return { log, lines, logged };
}

describe('the supervisor and one node', () => {
  let local: LocalNodes;

  beforeAll(async () => {
    local = await LocalNodes.start(0);
  });

  afterAll(async () => {
    await local?.stop();
  });

  test("an exit through the node's stop() is not a death; a SIGKILL is", async () => {
    const node = local.node('leader');
    await node.stop();
    expect(await node.whenExited()).toEqual({ kind: 'stopped' });
    await node.start();
    node.signal('SIGKILL');
    expect(await node.whenExited()).toEqual({ kind: 'died', code: null, signal: 'SIGKILL' });
  });

  test('a killed node is started again, and its death and restart are logged', async () => {
    const node = local.node('leader');
    if (!node.running) await node.start();
    const { log, lines, logged } = capturingLogger();
    const supervisor = new EmbeddedSupervisor([node], log);
    try {
      const killed = node.pid;
      node.signal('SIGKILL');
      await logged('embedded node restarted');
      expect(node.running).toBe(true);
      expect(node.pid).not.toBe(killed);
      expect(lines.find((entry) => entry.msg === 'embedded node died; restarting it')).toMatchObject({ node: 'leader', signal: 'SIGKILL' });
    } finally {
      await supervisor.stop();
    }
  });

  test('stop() while a restart is pending cancels it: the node stays down', async () => {
    const node = local.node('leader');
    if (!node.running) await node.start();
    const { log, logged } = capturingLogger();
    const supervisor = new EmbeddedSupervisor([node], log);
    node.signal('SIGKILL');
    // Logged just before it waits out the backoff: stop() lands during that wait.
    await logged('embedded node died; restarting it');
    await supervisor.stop();
    expect(node.running).toBe(false);
  });
});
