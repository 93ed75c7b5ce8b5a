/** What a rejoin found on the follower (its mark, its epoch, its watermark) and what was asked of it. */
export interface RebuildFacts {
  /** An operator asked for a rebuild (resyncNode). */
  requested: boolean;
  /** Its watermark and the leader's trim point, when it is below it: the log no longer holds what it lacks. */
  behindLog?: { watermark: string; trimmed: string };
  /** Why it was fenced from an older epoch, when it was. */
  stale?: string;
  /** The reason on a `rebuilding` mark left by a rebuild that did not finish. */
  interrupted?: string;
}

/**
 * Why a rejoining follower must be rebuilt from a snapshot first, or undefined when catching it
 * up is enough. The first that applies is named: the log trimmed past it, an older epoch, an
 * unfinished rebuild, then an operator's request (a rebuild for any of them does all of them).
 */
export function rebuildReason(facts: RebuildFacts): string | undefined {
  if (facts.behindLog) return `applied up to ${facts.behindLog.watermark}, but the log starts after ${facts.behindLog.trimmed}`;
  if (facts.stale) return facts.stale;
  if (facts.interrupted !== undefined) return `marked for a rebuild (${facts.interrupted})`;
  if (facts.requested) return 'rebuild requested (resyncNode)';
  return undefined;
}
