import { rm } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ACCOUNTS, staleServerFailover, type StaleServerFailoverRun } from '../test/fault/scenarios/stale-server-failover';

/**
 * `npm run soak:failover -- --runs 20`: the stale-server failover scenario (the fault test
 * test/fault/stale-server-failover.test.ts) run again and again on fresh nodes; prints each run's
 * verdict and the count of runs that kept every promise. Exits non-zero if any did not.
 * `--dump DIR` keeps, for each failing run, its servers' logs and every node's rows and logs
 * in DIR/run-N.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '20' }, dump: { type: 'string' } } });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs: "${values.runs}" is not a positive whole number`);
  let kept = 0;
  for (let i = 1; i <= runs; i++) {
    const started = Date.now();
    const dumpDir = values.dump ? path.resolve(values.dump, `run-${i}`) : undefined;
    const problems = await staleServerFailover({ dumpDir }).then(problemsOf, (error: Error) => [`the run failed: ${error.message}`]);
    if (problems.length === 0) kept++;
    if (dumpDir && problems.length === 0) await rm(dumpDir, { recursive: true, force: true });
    const verdict = problems.length === 0 ? 'ok' : `FAILED: ${problems.join('; ')}`;
    console.log(
      `run ${i}/${runs} (${Math.round((Date.now() - started) / 1000)} s): ${verdict}${dumpDir && problems.length ? ` (see ${dumpDir})` : ''}`,
    );
  }
  console.log(`${kept} of ${runs} runs kept every promise`);
  if (kept < runs) process.exitCode = 1;
}

function problemsOf(run: StaleServerFailoverRun): string[] {
  const problems: string[] = [];
  for (const [node, total] of Object.entries(run.totals))
    if (total !== ACCOUNTS * 1000) problems.push(`${node} holds ${total} in the bank`);
  for (const [node, ids] of Object.entries(run.missingAcknowledged))
    if (ids.length) problems.push(`${node} lacks acknowledged ${ids.join(',')}`);
  for (const [node, ids] of Object.entries(run.presentRefused)) if (ids.length) problems.push(`${node} holds refused ${ids.join(',')}`);
  for (const [node, gids] of Object.entries(run.prepared)) if (gids.length) problems.push(`${node} holds prepared ${gids.join(',')}`);
  if (run.differing.length) problems.push(`rows differ from the new leader's on ${run.differing.join(', ')}`);
  for (const [server, seen] of Object.entries(run.views)) {
    const out = Object.entries(seen.states).filter(([node, state]) => state !== (node === seen.leader ? 'UP' : 'IN_SYNC'));
    if (seen.leader !== 'follower-2' || seen.epoch !== '1' || out.length) problems.push(`server ${server} sees ${JSON.stringify(seen)}`);
  }
  return problems;
}

void main().catch((error: Error) => {
  console.error(error.message);
  process.exitCode = 1;
});
