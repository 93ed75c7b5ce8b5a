import 'reflect-metadata';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Syncrep } from '../../src/app';
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
