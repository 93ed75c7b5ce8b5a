import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { freePort, type TestNodes } from './nodes';

const ROOT = ((up) => (path.basename(up) === 'dist' ? path.dirname(up) : up))(path.resolve(__dirname, '..', '..'));
const MAIN = path.join(ROOT, 'dist', 'src', 'main.js');

/** A syncrep server in its own process (built by `npm test`'s tsc step), for killing it for real. */
export class ServerProcess {
  private constructor(readonly child: ChildProcess, readonly url: string) {}

  static async start(nodes: TestNodes, env: Record<string, string> = {}): Promise<ServerProcess> {
    const port = await freePort();
    const child = spawn(process.execPath, [MAIN], {
      env: {
        PATH: process.env.PATH,
        REPLICATION_NODES: nodes.replicationNodes,
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        DB_TIMEOUT_MS: '10000',
        HEALTH_INTERVAL_MS: '200',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const match = /syncrep ready at (\S+)/.exec(output);
        if (match) resolve(match[1]);
      });
      child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.once('exit', (code, signal) => reject(new Error(`server exited (${code ?? signal}) before it was ready: ${output}`)));
    });
    return new ServerProcess(child, url);
  }

  /** Resolves when the process has exited, with its signal (SIGKILL after a fault point). */
  exited(): Promise<NodeJS.Signals | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve(this.child.signalCode);
    return new Promise((resolve) => this.child.once('exit', (_code, signal) => resolve(signal)));
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      await this.exited();
    }
  }
}
