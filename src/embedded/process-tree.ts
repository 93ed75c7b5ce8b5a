import { execFileSync } from 'node:child_process';

/**
 * Sends `signal` to a postmaster and every backend it forked: SIGSTOP freezes the whole server,
 * open connections included, as a hung machine would; SIGCONT thaws it.
 */
export function signalTree(postmaster: number, signal: NodeJS.Signals): void {
  let children: number[] = [];
  try {
    children = execFileSync('ps', ['-o', 'pid=', '--ppid', String(postmaster)], { encoding: 'utf8' })
      .split('\n')
      .map((line) => Number(line.trim()))
      .filter((pid) => pid > 0);
  } catch {
    // ps exits non-zero when there are none.
  }
  for (const pid of [postmaster, ...children]) {
    try {
      process.kill(pid, signal);
    } catch {
      // Exited meanwhile.
    }
  }
}
