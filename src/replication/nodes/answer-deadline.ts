import { performance } from 'node:perf_hooks';

/**
 * `work`, or a rejection with `message` once the node has had `ms` to answer.
 *
 * A timer measures this server's event loop as much as the node: when the loop was busy past the
 * deadline (a flood of requests, a noisy machine), the node's answer may be sitting unread on its
 * socket. So an expired timer first lets the loop read what is waiting (one `setImmediate` comes
 * after the poll phase), and a timer that fired late by more than half its span (the loop, not the
 * node, was stalled) gives the node one more span, measured from now. A node that does not answer is
 * still declared silent within about `2 × ms` plus the stall; a node that answered in time is never
 * accused because this server was slow to look.
 */
export function withDeadline<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let settled = false;
  const expired = new Promise<never>((_, reject) => {
    const arm = (span: number, spare: number) => {
      const due = performance.now() + span;
      timer = setTimeout(() => {
        const stalled = performance.now() - due > span / 2;
        setImmediate(() => {
          if (settled) return;
          if (stalled && spare > 0) arm(span, spare - 1);
          else reject(new Error(message));
        });
      }, span);
    };
    arm(ms, 1);
  });
  return Promise.race([work, expired]).finally(() => {
    settled = true;
    clearTimeout(timer);
  });
}
