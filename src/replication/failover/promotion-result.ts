import type { NodeProbe } from './promotion-rules';

/** What a promotion did, for the API, the log and the metrics. */
export interface PromotionResult {
  epoch: bigint;
  leader: string;
  previousLeader: string;
  /** Nodes that accepted the new epoch (were fenced and read). */
  reached: string[];
  unreached: string[];
  committedInDoubt: number;
  rolledBackInDoubt: number;
  /** Writes the new leader lacked and took from the other reached nodes. */
  adopted: number;
  allowDataLoss: boolean;
  /** What allowDataLoss let through: each reason the promotion would otherwise have been refused. */
  possiblyLost: string[];
  /** False when the node already led this epoch (a rerun after it finished). */
  changed: boolean;
  durationMs: number;
}

/** What a promotion that went through to its end did (a rerun of a finished one has none). */
export interface PromotionDone {
  reached: string[];
  settled: { committed: number; rolledBack: number };
  adopted: number;
  allowDataLoss: boolean;
  possiblyLost: string[];
}

/** The result of promoting `name` to `epoch`, from what was probed and, when it went through, what it did. */
export function promotionResult(
  run: { name: string; epoch: bigint; previous: string; probes: NodeProbe[]; started: number; changed: boolean },
  done: PromotionDone | undefined,
  now = Date.now(),
): PromotionResult {
  const reached = done?.reached ?? run.probes.filter((p) => p.reachable).map((p) => p.name);
  return {
    epoch: run.epoch,
    leader: run.name,
    previousLeader: run.previous,
    reached,
    unreached: run.probes.map((p) => p.name).filter((n) => !reached.includes(n)),
    committedInDoubt: done?.settled.committed ?? 0,
    rolledBackInDoubt: done?.settled.rolledBack ?? 0,
    adopted: done?.adopted ?? 0,
    allowDataLoss: done?.allowDataLoss ?? false,
    possiblyLost: done?.possiblyLost ?? [],
    changed: run.changed,
    durationMs: now - run.started,
  };
}
