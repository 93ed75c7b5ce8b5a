/**
 * What happened to a node. Callers say this, never which state to set: `transition` alone knows
 * which state each event leads to from each state, and which moves are not allowed.
 */
export type NodeEvent =
  /** A check, a read or a write could not reach it. */
  | { kind: 'unreachable'; reason: string }
  /** The leader answered the health check again (a follower comes back through catch-up). */
  | { kind: 'reachable' }
  /** It missed a write that committed without it, or failed to commit one it had prepared. */
  | { kind: 'missed-write'; reason: string }
  /** It refused a write for a row an earlier write changed, and lacks that earlier write. */
  | { kind: 'behind'; reason: string }
  /** Its rows differ from the leader's (a refused write it lacked nothing for, a consistency check, a refused replay). */
  | { kind: 'diverged'; reason: string }
  /** What it lacks is no longer in the leader's log. */
  | { kind: 'log-trimmed'; reason: string }
  /** A rebuild from a snapshot of the leader starts (it takes no writes meanwhile). */
  | { kind: 'rebuild-started'; reason: string }
  /** Catch-up starts; `takesWrites` false while it is marked on the node as lacking writes (see FollowerState). */
  | { kind: 'catch-up-started'; takesWrites: boolean }
  /** Its node carries a mark another server set (it is being repaired, or lacks or holds what the leader does not). */
  | { kind: 'marked'; reason: string }
  /** It was left out of writes here, but its repairer has put it back in the write set: it catches up here too. */
  | { kind: 'repaired-elsewhere'; reason: string }
  /** Catch-up replayed the last entries with new commits held back: it has every write. */
  | { kind: 'caught-up' }
  | { kind: 'catch-up-failed'; reason: string }
  /** A promotion reached it and moved the leader: it catches up from the new one. */
  | { kind: 'leader-changed'; reason: string }
  /** A promotion moved the leader without reaching it: it may hold writes no leader kept. */
  | { kind: 'epoch-missed'; reason: string };
