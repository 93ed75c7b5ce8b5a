import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { freePort } from './nodes';

/** The built entry point (`npm test` and `npm run bench` run tsc first), from harness/ or dist/harness/. */
const ROOT = ((up) => (path.basename(up) === 'dist' ? path.dirname(up) : up))(path.resolve(__dirname, '..'));
const MAIN = path.join(ROOT, 'dist', 'src', 'main.js');
/** Starts the lines the harness adds to a server's log, so readers can tell them from the server's own. */
export const HARNESS_NOTE = 'harness:';
const START_TIMEOUT_MS = 60_000;
const MAX_LOG_LINES = 20_000;
/**
 * How long the server may take to exit after SIGTERM before it is killed. Writes have all been
 * answered by then, so a clean stop takes well under a second.
 */
const STOP_TIMEOUT_MS = 3_000;

/**
 * The real syncrep server, `node dist/src/main.js`, in its own process: fault tests kill it for
 * real, and the bench keeps its CPU apart from the load generator's and reads its memory.
 */
export class ServerProcess {
  /** Log lines the server wrote after it was ready (LOG_LEVEL=warn: warnings and errors only). */
  readonly logLines: string[] = [];

  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
    /** Its Prometheus endpoint (METRICS_PORT). */
    readonly metricsUrl: string,
  ) {}

  /**
   * Starts the server on free ports. Another process can take a port between choosing it and the
   * server binding it; then the server is started again on new ones.
   */
  static async start(replicationNodes: string, env: Record<string, string>): Promise<ServerProcess> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await ServerProcess.startOnce(replicationNodes, env);
      } catch (error) {
        if (attempt >= 3 || !/EADDRINUSE/.test(String(error))) throw error;
      }
    }
  }

  private static async startOnce(replicationNodes: string, env: Record<string, string>): Promise<ServerProcess> {
    const port = await freePort();
    const metricsPort = await freePort();
    const childEnv: Record<string, string | undefined> = {
      ...process.env,
      HEALTH_INTERVAL_MS: '200',
      LOG_LEVEL: 'warn',
      ...env,
      REPLICATION_NODES: replicationNodes,
      PORT: String(port),
      METRICS_PORT: String(metricsPort),
      HOST: '127.0.0.1',
    };
    if (childEnv.SYNC_MODE !== 'quorum') delete childEnv.SYNC_QUORUM;
    const child = spawn(process.execPath, [MAIN], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    const early: string[] = [];
    // Set once ready: lines after that go to its log, lines before to `early`.
    const started: { server?: ServerProcess } = {};
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`server not ready after ${START_TIMEOUT_MS} ms: ${early.join('\n')}`)),
        START_TIMEOUT_MS,
      );
      const onLine = (line: string): void => {
        const ready = /syncrep ready at (\S+)/.exec(line);
        if (ready && !started.server) {
          clearTimeout(timer);
          resolve(ready[1]);
        } else if (started.server) started.server.log(line);
        else early.push(line);
      };
      createInterface({ input: child.stdout }).on('line', onLine);
      createInterface({ input: child.stderr }).on('line', onLine);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`server exited during start (code ${code}, signal ${signal}): ${early.join('\n')}`));
      });
    }).catch((error) => {
      if (child.exitCode === null) child.kill('SIGKILL');
      throw error;
    });
    const server = new ServerProcess(child, url, `http://127.0.0.1:${metricsPort}/metrics`);
    started.server = server;
    server.logLines.push(...early);
    return server;
  }

  /** Keeps the first MAX_LOG_LINES lines the server wrote, and counts the rest. */
  private log(line: string): void {
    if (this.logLines.length < MAX_LOG_LINES) this.logLines.push(line);
    else if (this.logLines.length === MAX_LOG_LINES) this.logLines.push(`${HARNESS_NOTE} more server log lines were dropped`);
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Resident memory of the server process, in bytes (0 once it has exited). */
  rss(): number {
    try {
      const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
      const match = /VmRSS:\s+(\d+)\s+kB/.exec(status);
      return match ? Number(match[1]) * 1024 : 0;
    } catch {
      return 0;
    }
  }

  /** Resolves when the process has exited, with the signal that ended it (SIGKILL after a fault point). */
  exited(): Promise<NodeJS.Signals | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve(this.child.signalCode);
    return new Promise((resolve) => this.child.once('exit', (_code, signal) => resolve(signal)));
  }

  /** SIGTERM (the server drains and closes its pools), then SIGKILL if it takes too long; false if it had to be killed. */
  async stop(): Promise<boolean> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return true;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    const started = performance.now();
    this.child.kill('SIGTERM');
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      this.child.kill('SIGKILL');
    }, STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
    if (killed) this.logLines.push(`${HARNESS_NOTE} the server had not exited ${STOP_TIMEOUT_MS} ms after SIGTERM; killed it`);
    else if (performance.now() - started > 1000)
      this.logLines.push(`${HARNESS_NOTE} the server took ${Math.round(performance.now() - started)} ms to exit after SIGTERM`);
    return !killed;
  }
}
