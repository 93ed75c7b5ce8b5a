import { randomBytes } from 'node:crypto';

/** Every prepared transaction syncrep creates starts with this; recovery touches no other. */
export const GID_PREFIX = 'syncrep_';

/**
 * Global transaction ids for PREPARE TRANSACTION. They name the server instance, so a server
 * resolving in-doubt transactions can tell its own dead attempts from another live server's.
 */
export class GidSource {
  /** Random per process: a restarted server is a new instance. */
  readonly instance = randomBytes(6).toString('hex');
  private counter = 0;

  /** application_name of this instance's database sessions. */
  get applicationName(): string {
    return applicationNameOf(this.instance);
  }

  next(): string {
    this.counter += 1;
    return `${GID_PREFIX}${this.instance}_${this.counter}`;
  }

  /** The instance part of one of our gids, or undefined for a gid that is not ours. */
  static instanceOf(gid: string): string | undefined {
    const match = /^syncrep_([0-9a-f]{12})_\d+$/.exec(gid);
    return match?.[1];
  }
}

/** application_name of a server instance's database sessions. */
export function applicationNameOf(instance: string): string {
  return `syncrep ${instance}`;
}
