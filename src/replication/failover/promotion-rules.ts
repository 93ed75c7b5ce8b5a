import type { SyncMode } from '../../config/settings';
import type { MarkKind } from '../sql/mark-statements';
import { UnreachableCaseError } from '../../errors/unreachable';

/** What a promotion learned of one node before changing anything (undefined fields: unreachable). */
export interface NodeProbe {
  name: string;
  reachable: boolean;
  epoch?: bigint;
  leader?: string | null;
  state?: 'active' | 'promoting';
  previous?: string | null;
  /** The node's own mark: it may lack acknowledged writes (rebuilding) or holds rows no leader had (diverged). */
  mark?: MarkKind | null;
  watermark?: bigint;
  trimmed?: bigint;
  /** This server's view of the node, when it says the node is unfit (DIVERGED, NEEDS_RESYNC). */
  unfitHere?: string;
}

/**
 * How many followers a promotion must reach (claim and read) to be sure it sees every
 * acknowledged write. A write is acknowledged once committed on k followers (`quorum k`) or on
 * every follower that was not marked (`all`); any T = F - k + 1 followers overlap any k of F, and
 * in `all` mode one unmarked follower holds them all.
 */
export function promotionThreshold(mode: SyncMode, followers: number): number {
  switch (mode.kind) {
    case 'all':
      return 1;
    case 'quorum':
      return Math.max(1, followers - mode.quorum + 1);
    default:
      throw new UnreachableCaseError(mode, 'sync mode');
  }
}

/**
 * Why promoting `candidate` could lose an acknowledged write, given what the probe found (empty:
 * it cannot). `followers` are the probes of every configured node but the deposed leader;
 * `knownEpoch` the epoch this server knows of (a candidate behind it missed a promotion, even
 * when no other node answers to say so).
 */
export function unsafeReasons(mode: SyncMode, candidate: NodeProbe, followers: readonly NodeProbe[], knownEpoch = 0n): string[] {
  const reasons: string[] = [];
  const threshold = promotionThreshold(mode, followers.length);
  const reached = followers.filter((f) => f.reachable);
  if (mode.kind === 'quorum' && reached.length < threshold) {
    reasons.push(
      `only ${reached.length} of ${followers.length} followers are reachable; with quorum ${mode.quorum} an acknowledged write ` +
        `may be on the others alone, so ${threshold} must be reached`,
    );
  }
  if (candidate.mark === 'rebuilding') reasons.push(`${candidate.name} is marked as being rebuilt: it may lack acknowledged writes`);
  if (candidate.mark === 'diverged') reasons.push(`${candidate.name} is marked diverged: it holds rows the leader did not`);
  if (candidate.mark === 'behind') reasons.push(`${candidate.name} is marked behind: it lacks writes it refused or missed`);
  if (candidate.unfitHere) reasons.push(`${candidate.name} ${candidate.unfitHere}`);
  const newest = followers.reduce((max, f) => ((f.epoch ?? 0n) > max ? (f.epoch ?? 0n) : max), knownEpoch);
  if ((candidate.epoch ?? 0n) < newest) {
    reasons.push(`${candidate.name} is at epoch ${candidate.epoch}, others at ${newest}: a promotion did not reach it`);
  }
  const trimmed = reached.reduce((max, f) => ((f.trimmed ?? 0n) > max ? (f.trimmed ?? 0n) : max), 0n);
  if ((candidate.watermark ?? 0n) < trimmed) {
    reasons.push(`${candidate.name} lacks writes older than what the other nodes' logs keep (trimmed up to ${trimmed})`);
  }
  return reasons;
}
