import { randomBytes } from 'node:crypto';

/** Every prepared transaction syncrep creates starts with this; recovery touches no other. */
export const GID_PREFIX = 'syncrep_';

/**
 * Global transaction ids for PREPARE TRANSACTION: `syncrep_<instance>_<position>`. They name the
 * server instance, so a server resolving in-doubt transactions can tell its own dead attempts from
 * another live server's, and the write's position (which carries its epoch), so a promotion can
 * match a prepared transaction with the positions other nodes committed without reading it.
 */
export class GidSource {
  /** Random per process: a restarted server is a new instance. */
  readonly instance = randomBytes(6).toString('hex');

  /** application_name of this instance's database sessions. */
  get applicationName(): string {
    return applicationNameOf(this.instance);
  }

  /** The gid of the write at `position` (positions are never reused, so neither are gids). */
  next(position: bigint): string {
    return `${GID_PREFIX}${this.instance}_${position}`;
  }

  /** The instance part of one of our gids, or undefined for a gid that is not ours. */
  static instanceOf(gid: string): string | undefined {
    const match = /^syncrep_([0-9a-f]{12})_\d+$/.exec(gid);
    return match?.[1];
  }

  /** The position in one of our gids, or undefined for a gid that is not ours. */
  static positionOf(gid: string): bigint | undefined {
    const match = /^syncrep_[0-9a-f]{12}_(\d+)$/.exec(gid);
    return match ? BigInt(match[1]) : undefined;
  }
}

/** application_name of a server instance's database sessions. */
export function applicationNameOf(instance: string): string {
  return `syncrep ${instance}`;
}
