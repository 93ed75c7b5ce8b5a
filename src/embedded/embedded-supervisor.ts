import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../logger';
import { StopOnce } from '../lifecycle/stop-once';
import type { EmbeddedNode, PostmasterExit } from './embedded-node';

/** How long to wait before restarting a node that died: doubling from `firstMs` up to `maxMs`. */
export interface RestartBackoff {
  firstMs: number;
  maxMs: number;
  /** A node that stayed up this long before dying starts again from `firstMs`. */
  resetAfterMs: number;
}

/** 0.5 s, 1 s, 2 s, ... 30 s between restarts of a node that keeps dying; back to 0.5 s after a minute up. */
export const DEFAULT_RESTART_BACKOFF: RestartBackoff = { firstMs: 500, maxMs: 30_000, resetAfterMs: 60_000 };

/**
 * Restarts embedded nodes whose PostgreSQL process dies (killed, crashed, out of memory). It only
 * brings the process back: the replication layer's health monitor sees the node answer again and
 * takes a follower through catch-up, or marks the leader UP. A node stopped through its own
 * `stop()` is not restarted, and after `stop()` none is.
 */
export class EmbeddedSupervisor {
  private readonly life = new StopOnce();
  private readonly stopping = new AbortController();
  private readonly watches: Promise<void>[];

  /** Starts watching `nodes`, which must be running. */
  constructor(
    nodes: readonly EmbeddedNode[],
    private readonly log: Logger,
    private readonly backoff: RestartBackoff = DEFAULT_RESTART_BACKOFF,
  ) {
    this.watches = nodes.map((node) => this.watch(node));
  }

  /** Restarts nothing from now on; waits for a restart under way, so the caller can then stop every node. */
  stop(): Promise<void> {
    return this.life.stop(async () => {
      this.stopping.abort();
      await Promise.all(this.watches);
    });
  }

  private async watch(node: EmbeddedNode): Promise<void> {
    const name = node.options.name;
    let delayMs = this.backoff.firstMs;
    for (;;) {
      const upSince = Date.now();
      const exit = await Promise.race([node.whenExited(), this.stopped()]);
      if (exit.kind === 'stopped' || this.stopping.signal.aborted) return;
      if (Date.now() - upSince >= this.backoff.resetAfterMs) delayMs = this.backoff.firstMs;
      this.log.warn({ node: name, code: exit.code, signal: exit.signal, restartInMs: delayMs }, 'embedded node died; restarting it');
      for (;;) {
        if (!(await this.pause(delayMs))) return;
        delayMs = Math.min(delayMs * 2, this.backoff.maxMs);
        try {
          await node.start();
          this.log.info({ node: name, port: node.options.port }, 'embedded node restarted');
          break;
        } catch (error) {
          // Up but its database check failed: it runs, and the health monitor will judge it.
          if (node.running) break;
          this.log.warn({ node: name, err: error, restartInMs: delayMs }, 'embedded node restart failed; trying again');
        }
      }
    }
  }

  /** Waits `ms`; false when stop() came first. */
  private async pause(ms: number): Promise<boolean> {
    try {
      await sleep(ms, undefined, { signal: this.stopping.signal });
      return true;
    } catch {
      return false;
    }
  }

  private stopped(): Promise<PostmasterExit> {
    const { signal } = this.stopping;
    if (signal.aborted) return Promise.resolve({ kind: 'stopped' });
    return new Promise((resolve) => signal.addEventListener('abort', () => resolve({ kind: 'stopped' }), { once: true }));
  }
}
