import type { BenchResults } from './results-model';

export interface TargetCheck {
  name: string;
  measured: string;
  target: string;
  /** undefined when the figure was not measured. */
  pass?: boolean;
}

const fmt = (n: number, digits = 2): string => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
const int = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');

/** The targets, each as a ratio or figure from this run, with PASS/MISS. */
export function checkTargets(r: BenchResults): TargetCheck[] {
  const low = Math.min(...r.options.clients);
  const high = Math.max(...r.options.clients);
  const w = (topology: string, clients: number) => r.writes[topology]?.[clients];
  const checks: TargetCheck[] = [];
  const add = (name: string, value: number | undefined, show: (v: number) => string, target: string, ok: (v: number) => boolean): void => {
    const known = value !== undefined && Number.isFinite(value);
    checks.push({ name, measured: known ? show(value) : 'not measured', target, pass: known ? ok(value) : undefined });
  };
  const ratio = (a?: number, b?: number) => (a !== undefined && b !== undefined && b > 0 ? a / b : undefined);

  add(
    `${high}-client 2-follower all req/s vs leader alone`,
    ratio(w('f2-all', high)?.reqPerSec, w('alone', high)?.reqPerSec),
    (v) => `${fmt(v)}x`,
    '>= 0.5x',
    (v) => v >= 0.5,
  );
  add(
    `${high}-client 2-follower all req/s`,
    w('f2-all', high)?.reqPerSec,
    (v) => `${int(v)}/s`,
    '>= 2,500/s',
    (v) => v >= 2500,
  );
  add(
    `${low}-client 2-follower all p50`,
    w('f2-all', low)?.p50,
    (v) => `${fmt(v, 3)} ms`,
    '<= 1.5 ms',
    (v) => v <= 1.5,
  );
  add(
    `${low}-client 2-follower all p50 vs leader alone`,
    ratio(w('f2-all', low)?.p50, w('alone', low)?.p50),
    (v) => `${fmt(v)}x`,
    '<= 2x',
    (v) => v <= 2,
  );
  add(
    `${high}-client cost of the 2nd follower (1 - f2/f1 req/s)`,
    ((x) => (x === undefined ? undefined : 1 - x))(ratio(w('f2-all', high)?.reqPerSec, w('f1', high)?.reqPerSec)),
    (v) => `${fmt(v * 100, 1)}%`,
    '<= 10%',
    (v) => v <= 0.1,
  );
  add(
    'follower reads vs leader reads (req/s)',
    ratio(r.reads?.followers.reqPerSec, r.reads?.leader.reqPerSec),
    (v) => `${fmt(v * 100, 1)}%`,
    '>= 95%',
    (v) => v >= 0.95,
  );
  add(
    'bulk createEmployees 10,000 rows (2 followers, all)',
    r.bulk['f2-all'],
    (v) => `${int(v)} ms`,
    '< 2,000 ms',
    (v) => v < 2000,
  );
  const c = r.catchUp;
  if (c && !c.finished) {
    checks.push({
      name: `catch-up after ${int(c.missedWrites)} missed writes`,
      target: '>= 20,000/s',
      pass: false,
      measured: `not IN_SYNC after ${fmt(c.seconds, 0)} s (${c.endState}, lag ${c.missedPositions ?? '?'} -> ${c.endLagPositions ?? '?'} positions)`,
    });
  } else {
    add(
      `catch-up after ${int(c?.missedWrites ?? r.options.catchup)} missed writes`,
      c?.perSec,
      (v) => `${int(v)} changes/s`,
      '>= 20,000/s',
      (v) => v >= 20_000,
    );
  }
  add(
    `server peak RSS, 2nd vs 1st half of ${r.options.soak.toLocaleString('en-US')} writes`,
    r.soak ? ratio(r.soak.endRss, r.soak.startRss) : undefined,
    (v) => `${fmt(r.soak!.startRss / 2 ** 20, 0)} -> ${fmt(r.soak!.endRss / 2 ** 20, 0)} MB (${fmt(v)}x)`,
    'flat (<= 1.10x)',
    (v) => v <= 1.1,
  );
  const totals = r.consistency?.checks.map((x) => x.totalMs).sort((a, b) => a - b);
  add(
    `consistency of ${int(r.consistency?.rows ?? 100_000)} rows, median, writes going on`,
    totals?.[Math.floor(totals.length / 2)],
    (v) => `${int(v)} ms`,
    '< 1,000 ms',
    (v) => v < 1000,
  );
  return checks;
}
