import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { LocalNodes } from '../../../harness/nodes';
import { ServerProcess } from '../../../harness/server-process';
import { load, type Outcomes } from '../../support/outcomes';
import { gql, TEST_ADMIN_TOKEN } from '../../support/server';
import { waitFor } from '../../support/wait';

/** Bank accounts 1..ACCOUNTS of 1,000 each; the transfers move money between them, never in or out. */
export const ACCOUNTS = 10;
const NAMES = ['leader', 'follower-1', 'follower-2'];

/** Options of one run. */
export interface StaleServerFailoverOptions {
  /** How long both servers may take to see every node in service after the old leader's restart. */
  rejoinTimeoutMs?: number;
  /**
   * Where to leave what a failing run needs explaining: the servers run at LOG_LEVEL=info (debug logging hides the rare failure), and
   * their logs and every node's emp, syncrep_log and syncrep_applied are written here at the end.
   */
  dumpDir?: string;
}

/** What the scenario found on every node and in every server's view once the load stopped. */
export interface StaleServerFailoverRun {
  /** How long, after the old leader's restart, until every server saw every node in service (ms). */
  rejoinMs: number;
  /** Transfers acknowledged through the stale server B after it resumed. */
  staleAcknowledged: number;
  /** Per node: sum of the bank accounts. */
  totals: Record<string, number>;
  /** Per node: acknowledged creates missing there, refused creates present there. */
  missingAcknowledged: Record<string, number[]>;
  presentRefused: Record<string, number[]>;
  /** Nodes whose rows differ from follower-2's (the new leader). */
  differing: string[];
  /** Per node: prepared transactions left. */
  prepared: Record<string, string[]>;
  /** Per server: leader and state of every node. */
  views: Record<'A' | 'B', { leader: string; states: Record<string, string>; epoch: string }>;
  creates: Outcomes<number>;
  transfers: Outcomes<{ from: number; to: number; amount: number }>;
}

const PROMOTE = 'mutation ($node: String!) { promote(node: $node) { epoch leader } }';
const ADMIN = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` };

/**
 * The operator's scenario of issue 15, on real processes: two servers (A, B) in front of leader +
 * 2 in sync mode all, transfers and creates through both; B is SIGSTOPped, the leader SIGKILLed,
 * follower-2 promoted through A; then at once the old leader is restarted and B resumed, while the
 * load goes on. Returns what every node holds once both servers see every node in service.
 */
export async function staleServerFailover(options: StaleServerFailoverOptions = {}): Promise<StaleServerFailoverRun> {
  const { rejoinTimeoutMs = 60_000, dumpDir } = options;
  const nodes = await LocalNodes.start(2);
  const env = {
    ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    HEALTH_INTERVAL_MS: '200',
    HEALTH_TIMEOUT_MS: '1000',
    DB_TIMEOUT_MS: '10000',
    ...(dumpDir ? { LOG_LEVEL: 'info' } : {}),
  };
  const servers: ServerProcess[] = [];
  try {
    const a = await ServerProcess.start(nodes.replicationNodes, env);
    servers.push(a);
    const b = await ServerProcess.start(nodes.replicationNodes, env);
    servers.push(b);
    const inputs = Array.from({ length: ACCOUNTS }, (_, i) => `{ id: ${i + 1}, name: "A${i + 1}", salary: 1000 }`).join(', ');
    const seeded = await gql(a.url, `mutation { createEmployees(inputs: [${inputs}]) { position } }`);
    if (seeded.errors) throw new Error(`seeding failed: ${JSON.stringify(seeded.errors)}`);
    await waitInService(b.url, 'leader', 30_000);

    let nextId = 1000;
    const transferLoads = [a, b].map((server, s) =>
      load(server.url, 2, (lane, i) => {
        const from = ((s * 5 + lane * 7 + i * 3) % ACCOUNTS) + 1;
        const to = ((s * 3 + lane * 3 + i * 5 + 1) % ACCOUNTS) + 1;
        if (from === to) return undefined;
        // Fixed steps: balances often return to earlier values, as the half-applied transfers needed.
        const amount = 1 + (i % 3);
        return {
          key: { from, to, amount },
          query: `mutation { transferSalary(fromId: ${from}, toId: ${to}, amount: ${amount}) { position } }`,
        };
      }),
    );
    const createLoads = [a, b].map((server) =>
      load(server.url, 1, () => {
        const id = nextId++;
        return { key: id, query: `mutation { createEmployee(input: { id: ${id}, name: "C${id}", salary: 0 }) { position } }` };
      }),
    );
    const acknowledged = () => transferLoads.reduce((n, l) => n + l.outcomes.acknowledged.length, 0);
    await waitFor(async () => acknowledged() >= 40, '40 transfers acknowledged');

    process.kill(b.pid, 'SIGSTOP');
    nodes.node('leader').signalAll('SIGKILL');
    await waitFor(async () => (await nodesOf(a.url)).find((n) => n.name === 'leader')?.state === 'DOWN', 'A sees the leader DOWN');
    const promoted = await gql(a.url, PROMOTE, { node: 'follower-2' }, ADMIN);
    if (promoted.errors) throw new Error(`promote failed: ${JSON.stringify(promoted.errors)}`);
    await nodes.node('leader').start();
    const restarted = Date.now();
    process.kill(b.pid, 'SIGCONT');
    const throughStale = () => transferLoads[1].outcomes.acknowledged.length;
    const staleAtResume = throughStale();

    const atPromotion = acknowledged();
    await waitFor(async () => acknowledged() >= atPromotion + 40, '40 transfers acknowledged after the promotion', 60_000);
    // The stale server follows the promotion and writes again.
    await waitFor(async () => throughStale() > staleAtResume, 'a transfer acknowledged through B after it resumed', 60_000);
    await Promise.all([waitInService(a.url, 'follower-2', rejoinTimeoutMs), waitInService(b.url, 'follower-2', rejoinTimeoutMs)]).catch(
      async (error: Error) => {
        throw new Error(`${error.message}; ${await diagnose(nodes, { A: a, B: b })}`);
      },
    );
    const rejoinMs = Date.now() - restarted;
    await Promise.all([...transferLoads, ...createLoads].map((l) => l.stop()));
    await Promise.all([waitInService(a.url, 'follower-2', 30_000), waitInService(b.url, 'follower-2', 30_000)]);

    const creates: Outcomes<number> = merge(createLoads.map((l) => l.outcomes));
    const transfers = merge(transferLoads.map((l) => l.outcomes));
    const staleAcknowledged = throughStale() - staleAtResume;
    return {
      rejoinMs,
      staleAcknowledged,
      creates,
      transfers,
      ...(await inspect(nodes, creates)),
      views: { A: await view(a.url), B: await view(b.url) },
    };
  } finally {
    if (dumpDir) await dump(nodes, servers, dumpDir).catch((error: Error) => console.error(`could not dump the run: ${error.message}`));
    for (const server of servers) {
      process.kill(server.pid, 'SIGCONT');
      await server.stop();
    }
    await nodes.stop();
  }
}

async function inspect(nodes: LocalNodes, creates: Outcomes<number>) {
  const totals: Record<string, number> = {};
  const missingAcknowledged: Record<string, number[]> = {};
  const presentRefused: Record<string, number[]> = {};
  const prepared: Record<string, string[]> = {};
  const reference = JSON.stringify(await nodes.rows('follower-2'));
  const differing: string[] = [];
  for (const name of NAMES) {
    const rows = await nodes.rows(name);
    const ids = new Set(rows.map((r) => r.id));
    totals[name] = rows.filter((r) => r.id <= ACCOUNTS).reduce((sum, r) => sum + r.salary, 0);
    missingAcknowledged[name] = creates.acknowledged.filter((id) => !ids.has(id));
    presentRefused[name] = creates.failed.filter((id) => ids.has(id));
    prepared[name] = await nodes.prepared(name);
    if (JSON.stringify(rows) !== reference) differing.push(name);
  }
  return { totals, missingAcknowledged, presentRefused, prepared, differing };
}

/** What the servers see and the nodes record, and the servers' last warnings: for a run that did not converge. */
async function diagnose(nodes: LocalNodes, servers: Record<string, ServerProcess>): Promise<string> {
  const parts: string[] = [];
  for (const [name, server] of Object.entries(servers)) {
    parts.push(`server ${name} sees ${JSON.stringify(await nodesOf(server.url))}`);
    parts.push(`server ${name} logged: ${server.logLines.slice(-12).join(' | ')}`);
  }
  for (const name of NAMES) {
    const marks = await nodes.query(name, 'SELECT kind, reason FROM syncrep_divergence').catch((e: Error) => e.message);
    const excluded = await nodes.query(name, 'SELECT node, epoch::text FROM syncrep_excluded').catch((e: Error) => e.message);
    parts.push(`${name}: mark ${JSON.stringify(marks)}, excluded ${JSON.stringify(excluded)}`);
    // For a node refused at a position: the new leader's log just below it, and which of those
    // positions the node holds (what a rebuild or replay may have missed).
    const at = Array.isArray(marks) ? (marks[0] as { reason?: string } | undefined)?.reason?.match(/position (\d+)/)?.[1] : undefined;
    if (at) {
      const near = await nodes.query<{ p: string }>(
        'follower-2',
        'SELECT position::text AS p FROM syncrep_log WHERE position BETWEEN $1::bigint - 30 AND $1::bigint ORDER BY position',
        [at],
      );
      const held = await nodes.query<{ p: string }>(
        name,
        'SELECT x.p::text AS p FROM unnest($1::bigint[]) AS x(p) WHERE EXISTS (SELECT 1 FROM syncrep_log l WHERE l.position = x.p) OR EXISTS (SELECT 1 FROM syncrep_applied a WHERE a.position = x.p)',
        [near.map((n) => n.p)],
      );
      const holds = new Set(held.map((h) => h.p));
      parts.push(`${name} near ${at}: ${near.map((n) => `${n.p}${holds.has(n.p) ? '' : ' (lacks)'}`).join(', ')}`);
    }
  }
  return parts.join('\n');
}

async function dump(nodes: LocalNodes, servers: ServerProcess[], dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const write = (file: string, content: unknown) =>
    writeFile(path.join(dir, file), typeof content === 'string' ? content : JSON.stringify(content, null, 1));
  for (const [i, server] of servers.entries()) await write(`server-${'AB'[i]}.log`, server.logLines.join('\n'));
  for (const name of NAMES) {
    await write(`${name}-emp.json`, await nodes.query(name, 'SELECT * FROM emp ORDER BY id'));
    await write(`${name}-log.json`, await nodes.query(name, 'SELECT position::text, gid, changes FROM syncrep_log ORDER BY position'));
    await write(`${name}-applied.json`, await nodes.query(name, 'SELECT * FROM syncrep_applied ORDER BY position'));
    await write(`${name}-marks.json`, await nodes.query(name, 'SELECT * FROM syncrep_divergence'));
  }
}

function merge<K>(all: Outcomes<K>[]): Outcomes<K> {
  return {
    acknowledged: all.flatMap((o) => o.acknowledged),
    failed: all.flatMap((o) => o.failed),
    unknown: all.flatMap((o) => o.unknown),
  };
}

type NodeRow = { name: string; role: string; state: string; clusterEpoch: string };

/** For polling: a server that does not answer (paused, restarting) shows no nodes yet. */
async function nodesOf(url: string): Promise<NodeRow[]> {
  const result = await gql(url, '{ nodes { name role state clusterEpoch } }').catch(() => undefined);
  return (result?.data?.nodes as NodeRow[] | undefined) ?? [];
}

/** What the server says now; an error answer fails the run with it (unlike the polling above). */
async function view(url: string) {
  const result = await gql(url, '{ nodes { name role state clusterEpoch } }');
  if (result.errors) throw new Error(`${url} answered nodes with ${JSON.stringify(result.errors)}`);
  const found = result.data!.nodes as NodeRow[];
  return {
    leader: found.find((n) => n.role === 'LEADER')?.name ?? '',
    states: Object.fromEntries(found.map((n) => [n.name, n.state])),
    epoch: found[0]?.clusterEpoch ?? '',
  };
}

/** Until the server names `leader` as the leader, UP, and every other node IN_SYNC. */
function waitInService(url: string, leader: string, timeoutMs: number): Promise<void> {
  return waitFor(
    async () => {
      const found = await nodesOf(url);
      return (
        found.length === NAMES.length &&
        found.every((n) => (n.name === leader ? n.role === 'LEADER' && n.state === 'UP' : n.role === 'FOLLOWER' && n.state === 'IN_SYNC'))
      );
    },
    `${url}: ${leader} leading, every other node IN_SYNC`,
    timeoutMs,
  );
}
