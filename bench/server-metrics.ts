import type { WritePhase } from '../src/replication/write/write-metrics';

/** Every sample of a Prometheus text exposition, by `name{labels}`. */
export type Samples = Map<string, number>;

/** Reads the server's `/metrics`. */
export async function scrape(url: string): Promise<Samples> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}`);
  const samples: Samples = new Map();
  for (const line of (await response.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

const PHASES: WritePhase[] = ['leader', 'prepare', 'commit', 'commit_prepared'];

/** Where a run's distributed commits spent their time: mean ms per commit of each step. */
export interface WritePhases {
  commits: number;
  mutationsPerCommit: number;
  /**
   * The server process's CPU time (user + system) per mutation, in ms: on a machine whose cores
   * the server shares with the nodes, CPU it spends is time PostgreSQL does not get.
   */
  cpuMsPerMutation: number;
  /** Mean milliseconds per commit that reached the step. */
  ms: Record<WritePhase, number>;
}

/** The commits made between two scrapes, and what their steps took on average. */
export function writePhases(before: Samples, after: Samples): WritePhases {
  const delta = (key: string) => (after.get(key) ?? 0) - (before.get(key) ?? 0);
  const commits = delta('syncrep_write_batch_mutations_count');
  const ms = Object.fromEntries(
    PHASES.map((phase) => {
      const count = delta(`syncrep_write_phase_seconds_count{phase="${phase}"}`);
      return [phase, count > 0 ? (1000 * delta(`syncrep_write_phase_seconds_sum{phase="${phase}"}`)) / count : NaN];
    }),
  ) as Record<WritePhase, number>;
  const mutations = delta('syncrep_write_batch_mutations_sum');
  return {
    commits,
    mutationsPerCommit: commits > 0 ? mutations / commits : NaN,
    cpuMsPerMutation: mutations > 0 ? cpuMsBetween(before, after) / mutations : NaN,
    ms,
  };
}

/** The server's CPU milliseconds (user + system) between two scrapes. */
export function cpuMsBetween(before: Samples, after: Samples): number {
  const key = 'syncrep_process_cpu_seconds_total';
  return 1000 * ((after.get(key) ?? 0) - (before.get(key) ?? 0));
}
