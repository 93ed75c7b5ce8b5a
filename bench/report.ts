import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { HARNESS_NOTE } from '../harness/server-process';
import { RETRY_PAUSE_MS, type FailoverResult } from './failover-run';
import type { BenchResults } from './results-model';
import type { LoadResult } from './stats';
import { checkTargets, type TargetCheck } from './targets';
import { TOPOLOGIES } from './topology';

const PHASES_TITLE = "Steps of a distributed commit (mean per commit, from the server's metrics; the median write run)";
const FAILOVER_TITLE =
  "Leader failover: from SIGKILL of the leader's postmaster to the first write acknowledged at the new epoch " +
  `(leader + 2 followers, SYNC_MODE all, fresh nodes each run; one client creating employees, the next ${RETRY_PAUSE_MS} ms after a refusal)`;

type Table = { headers: string[]; rows: string[][]; right: boolean[] };

const MB = 2 ** 20;
const int = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (n: number) => (Number.isFinite(n) ? n.toFixed(n < 10 ? 3 : 1) : '-');
const label = (key: string) => TOPOLOGIES.find((t) => t.key === key)?.label ?? key;

function loadRow(scenario: string, topology: string, r: LoadResult, note = ''): string[] {
  const rss = r.peakRss ? (r.peakRss / MB).toFixed(0) : '';
  const cpu = r.cpuMsPerRequest === undefined ? '' : r.cpuMsPerRequest.toFixed(3);
  return [scenario, topology, String(r.clients), int(r.reqPerSec), ms(r.p50), ms(r.p99), String(r.errors), cpu, rss, note];
}

/** The figures of this run, one row per measurement. */
export function figuresTable(r: BenchResults): Table {
  const rows: string[][] = [];
  for (const [key, byClients] of Object.entries(r.writes)) {
    for (const result of Object.values(byClients)) rows.push(loadRow('updateEmployee', label(key), result));
  }
  for (const result of Object.values(r.pg)) rows.push(loadRow('pg UPDATE (no HTTP/GraphQL)', 'leader node only', result));
  if (r.reads) {
    rows.push(loadRow('employee(id) readFrom LEADER', label('f2-all'), r.reads.leader));
    rows.push(loadRow('employee(id) default (followers)', label('f2-all'), r.reads.followers));
    rows.push(loadRow('employees(first: 100)', label('f2-all'), r.reads.page));
    rows.push(loadRow('employee(id) readFrom atLeast', label('f2-all'), r.reads.atLeast));
    rows.push(loadRow('department(id) with 5 employees (nested)', label('f2-all'), r.reads.nested));
  }
  for (const result of Object.values(r.departments ?? {}))
    rows.push(loadRow('createDepartmentWithEmployees (1 + 5 rows)', label('f2-all'), result));
  for (const [key, time] of Object.entries(r.bulk)) {
    rows.push([
      'createEmployees 10,000 rows',
      label(key),
      '1',
      '',
      '',
      '',
      '0',
      '',
      '',
      `${int(time)} ms (seed, cold: ${int(r.seed[key] ?? NaN)} ms)`,
    ]);
  }
  if (r.catchUp) {
    const c = r.catchUp;
    const note = c.finished
      ? `${int(c.missedWrites)} writes (${c.missedPositions ?? '?'} positions) replayed in ${c.seconds.toFixed(2)} s = ${int(c.perSec)} changes/s`
      : `${int(c.missedWrites)} writes (${c.missedPositions ?? '?'} positions): still ${c.endState} after ${c.seconds.toFixed(0)} s, lag ${c.endLagPositions ?? '?'} positions`;
    rows.push(loadRow('catch-up: writes missed', label('f2-q1'), c.load, note));
  }
  if (r.consistency) {
    const c = r.consistency;
    const sorted = (values: number[]) => [...values].sort((a, b) => a - b);
    const total = sorted(c.checks.map((x) => x.totalMs));
    const held = sorted(c.checks.map((x) => x.heldCommitsMs));
    const median = (values: number[]) => values[Math.floor(values.length / 2)];
    const note =
      `${c.checks.length} checks of ${int(c.rows)} rows: median ${ms(median(total))} ms (max ${ms(total[total.length - 1])}), ` +
      `commits held ${ms(median(held))} ms (max ${ms(held[held.length - 1])}); consistent every time: ${c.checks.every((x) => x.consistent)}`;
    rows.push(loadRow('consistency, updates meanwhile', label('f2-all'), c.load, note));
  }
  if (r.soak) {
    const s = r.soak;
    rows.push(
      loadRow(
        `long write run (${r.options.soak.toLocaleString('en-US')} writes)`,
        label('f2-all'),
        s.load,
        `peak RSS first half ${(s.startRss / MB).toFixed(0)} MB, second half ${(s.endRss / MB).toFixed(0)} MB`,
      ),
    );
  }
  const headers = ['Scenario', 'Topology', 'Clients', 'req/s', 'p50 ms', 'p99 ms', 'Errors', 'server CPU ms/req', 'Peak RSS MB', 'Notes'];
  return { headers, rows, right: [false, false, true, true, true, true, true, true, true, false] };
}

/** Mean time of each step of a distributed commit, per write run: where a write's time goes. */
export function phasesTable(r: BenchResults): Table {
  const rows: string[][] = [];
  for (const [key, byClients] of Object.entries(r.writes)) {
    for (const { clients, phases: p } of Object.values(byClients)) {
      if (!p) continue;
      const step = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : '-');
      rows.push([
        label(key),
        String(clients),
        int(p.commits),
        p.mutationsPerCommit.toFixed(1),
        step(p.ms.leader),
        step(p.ms.prepare),
        step(p.ms.commit),
        step(p.ms.commit_prepared),
        step(p.cpuMsPerMutation),
      ]);
    }
  }
  return {
    headers: [
      'Topology',
      'Clients',
      'Commits',
      'Mutations/commit',
      'leader ms',
      'prepare ms',
      'commit ms',
      'commit prepared ms',
      'server CPU ms/mutation',
    ],
    rows,
    right: [false, true, true, true, true, true, true, true, true],
  };
}

/** Per way of failing over: kill to first acknowledged write, median and range over the runs, and each run. */
export function failoverTable(results: FailoverResult[]): Table {
  const spread = (values: number[]) => {
    if (!values.length) return ['-', '-'];
    const sorted = [...values].sort((a, b) => a - b);
    return [int(sorted[Math.floor(sorted.length / 2)]), `${int(sorted[0])}-${int(sorted[sorted.length - 1])}`];
  };
  const rows = results.map((f) => {
    const settings = Object.entries(f.settings)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    const kill = f.runs.map((m) => m.killToWriteMs);
    const promote = f.runs.flatMap((m) => (m.promoteMs === undefined ? [] : [m.promoteMs]));
    const [promoteMedian, promoteRange] = spread(promote);
    const refused = spread(f.runs.map((m) => m.refusedWrites));
    const leaders = [...new Set(f.runs.map((m) => m.newLeader))].join(', ');
    return [
      f.label,
      settings,
      `${f.runs.length}${f.failures.length ? ` (+${f.failures.length} failed)` : ''}`,
      ...spread(kill),
      kill.map(int).join(' / ') || '-',
      promote.length ? `${promoteMedian} (${promoteRange})` : '',
      refused[0],
      leaders,
    ];
  });
  return {
    headers: [
      'Failover',
      'Settings',
      'Runs',
      'kill to write ms',
      'range ms',
      'each run ms',
      'promote call ms',
      'refused writes',
      'new leader',
    ],
    rows,
    right: [false, false, true, true, true, true, true, true, false],
  };
}

export function targetsTable(checks: TargetCheck[]): Table {
  const verdict = (c: TargetCheck) => (c.pass === undefined ? '-' : c.pass ? 'PASS' : 'MISS');
  return {
    headers: ['Target', 'Measured', 'Goal', 'Result'],
    rows: checks.map((c) => [c.name, c.measured, c.target, verdict(c)]),
    right: [false, true, false, false],
  };
}

export function formatText(table: Table): string {
  const widths = table.headers.map((h, i) => Math.max(h.length, ...table.rows.map((row) => row[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (table.right[i] ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(table.headers), widths.map((w) => '-'.repeat(w)).join('  '), ...table.rows.map(line)].join('\n');
}

export function formatMarkdown(table: Table): string {
  const esc = (c: string) => c.replace(/\|/g, '\\|');
  return [
    `| ${table.headers.join(' | ')} |`,
    `|${table.right.map((r) => (r ? ' ---: ' : ' --- ')).join('|')}|`,
    ...table.rows.map((row) => `| ${row.map(esc).join(' | ')} |`),
  ].join('\n');
}

function header(r: BenchResults): string {
  const o = r.options;
  return (
    `syncrep bench ${r.startedAt}: ${r.machine.cpus} CPUs, node ${r.machine.node}; ${o.duration}s runs after ${o.warmup}s warm-up, ` +
    `write clients ${o.clients.join('/')} (median of ${o.repeat} runs), read clients ${o.readClients}, ${int(o.rows)} rows` +
    (Object.keys(o.serverEnv).length
      ? `; server settings ${Object.entries(o.serverEnv)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ')}`
      : '')
  );
}

/** Prints the tables and writes them as JSON and Markdown; returns the paths written. */
export async function report(r: BenchResults): Promise<string[]> {
  const checks = checkTargets(r);
  const figures = figuresTable(r);
  const targets = targetsTable(checks);
  const phases = phasesTable(r);
  const failover = r.failover?.length ? failoverTable(r.failover) : undefined;
  const problems = [
    ...r.failures.map((f) => `FAILED: ${f}`),
    ...Object.entries(r.serverLog).flatMap(([k, lines]) => {
      const own = lines.filter((l) => l.startsWith(HARNESS_NOTE)).map((l) => `${label(k)}: ${l}`);
      const server = lines.filter((l) => !l.startsWith(HARNESS_NOTE));
      return server.length
        ? [...own, `${label(k)}: server logged ${server.length} warning/error lines, first: ${server[0].slice(0, 300)}`]
        : own;
    }),
  ];
  console.log(
    `\n${header(r)}\n\n${formatText(figures)}\n\n${PHASES_TITLE}\n${formatText(phases)}\n\n` +
      (failover ? `${FAILOVER_TITLE}\n${formatText(failover)}\n\n` : '') +
      `${formatText(targets)}\n${problems.length ? `\n${problems.join('\n')}\n` : ''}`,
  );
  await mkdir(r.options.out, { recursive: true });
  const base = path.join(r.options.out, `bench-${r.startedAt.replace(/[:.]/g, '-')}`);
  await writeFile(`${base}.json`, `${JSON.stringify({ ...r, targets: checks }, null, 2)}\n`);
  const md = [
    `# syncrep benchmark`,
    '',
    header(r),
    '',
    formatMarkdown(figures),
    '',
    `## ${PHASES_TITLE}`,
    '',
    formatMarkdown(phases),
    '',
    ...(failover ? [`## ${FAILOVER_TITLE}`, '', formatMarkdown(failover), ''] : []),
    '## Targets',
    '',
    formatMarkdown(targets),
    '',
    ...(problems.length ? ['## Problems', '', ...problems.map((p) => `- ${p}`), ''] : []),
  ].join('\n');
  await writeFile(`${base}.md`, md);
  return [`${base}.json`, `${base}.md`];
}
