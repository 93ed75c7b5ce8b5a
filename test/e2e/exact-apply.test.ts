import { Client } from 'pg';
import { buildDataSource } from '../../ormconfig';
import type { Change } from '../../src/replication/change';
import { applyOn, applySql, type ApplyEntry } from '../../src/replication/sql/apply-sql';
import { StatementBook } from '../../src/replication/sql/statement-book';
import { SqlState } from '../../src/errors/sqlstate';
import { LocalNodes } from '../../harness/nodes';

/**
 * A follower's apply is decided per position, never row by row: a position the node holds is
 * skipped whole; any other matches every row exactly or is refused whole. Run against a real node
 * with the apply statements the write path, catch-up and promotions use, in both forms: the one
 * that reads each replaced row from RETURNING old (PostgreSQL 18) and the one that locks first.
 */
let nodes: LocalNodes;
let returnsOld = true;
/** One book per form, as one cluster has: a connection may run both forms' statements. */
const books = new Map([true, false].map((old) => [old, new StatementBook(old)]));
const fence = { epoch: 0n, leader: 'leader' };
const shape = { table: 'emp', key: ['id'], columns: ['id', 'name', 'salary'] };

const transfer = (position: number, moves: [id: number, from: number, to: number][]): ApplyEntry => ({
  position: BigInt(position),
  gid: `syncrep_test_${position}`,
  changes: [
    {
      ...shape,
      op: 'update',
      rows: moves.map(([id, , to]) => ({ id, name: `e${id}`, salary: to })),
      before: moves.map(([id, from]) => ({ id, name: `e${id}`, salary: from })),
    } satisfies Change,
  ],
});

async function connect(): Promise<Client> {
  const client = new Client({ connectionString: nodes.node('leader').url });
  await client.connect();
  return client;
}

async function apply(entry: ApplyEntry, end = 'COMMIT', kind: 'live' | 'replay' = 'replay', client?: Client): Promise<void> {
  const own = client ?? (await connect());
  try {
    await applyOn(own, applySql([entry], fence, kind, books.get(returnsOld)!), end);
  } catch (error) {
    await own.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    if (!client) await own.end();
  }
}

const salaries = async () =>
  (await nodes.query<{ id: number; salary: number }>('leader', 'SELECT id, salary FROM emp ORDER BY id')).map((r) => [r.id, r.salary]);
const applied = async (position: number) =>
  (await nodes.query<{ n: string }>('leader', 'SELECT count(*)::text AS n FROM syncrep_applied WHERE position = $1', [position]))[0].n;
const logged = async (position: number) =>
  (await nodes.query<{ n: string }>('leader', 'SELECT count(*)::text AS n FROM syncrep_log WHERE position = $1', [position]))[0].n;

beforeAll(async () => {
  nodes = await LocalNodes.start(0);
  const source = buildDataSource(
    { name: 'leader', url: nodes.node('leader').url },
    { poolSize: 2, timeoutMs: 10_000, applicationName: 'syncrep test' },
  );
  await source.initialize();
  await source.runMigrations();
  await source.destroy();
  await nodes.query('leader', "UPDATE syncrep_epoch SET leader = 'leader'");
});

afterAll(async () => {
  await nodes?.stop();
});

beforeEach(async () => {
  await nodes.query('leader', 'TRUNCATE emp, syncrep_applied, syncrep_log, syncrep_divergence');
  await nodes.query('leader', "INSERT INTO emp (id, name, salary) VALUES (1, 'e1', 100), (2, 'e2', 100), (3, 'e3', 50)");
});

describe.each([
  ['RETURNING old', true],
  ['locking first', false],
])('apply statements that compare %s', (_form, old) => {
  beforeAll(() => {
    returnsOld = old;
  });

  test('a node lacking an earlier write refuses a later one whole, even where one of its rows already holds the new values', async () => {
    // The node lacks position 10 (1: 100 -> 97, 2: 100 -> 103). Position 11 moves 3 back into 1
    // (97 -> 100) and 3 out of 3 (50 -> 53): row 1 holds 100 by coincidence, row 3 holds 50 as expected.
    await expect(
      apply(
        transfer(11, [
          [1, 97, 100],
          [3, 50, 53],
        ]),
      ),
    ).rejects.toMatchObject({ code: SqlState.Diverged });
    expect(await salaries()).toEqual([
      [1, 100],
      [2, 100],
      [3, 50],
    ]);
    expect([await applied(11), await logged(11)]).toEqual(['0', '0']);
  });

  test('a position the node holds already is skipped whole, whatever its rows hold now', async () => {
    await apply(transfer(20, [[1, 100, 90]]));
    await nodes.query('leader', 'UPDATE emp SET salary = 70 WHERE id = 1');
    // Replayed again (a second catch-up, say): nothing is applied and nothing is refused.
    await apply(transfer(20, [[1, 100, 90]]));
    expect((await salaries())[0]).toEqual([1, 70]);
    expect([await applied(20), await logged(20)]).toEqual(['1', '1']);
  });

  test.each([
    ['COMMIT PREPARED', [1, 90], '1'],
    ['ROLLBACK PREPARED', [1, 90], '1'],
  ])('a replay racing a live write of the same position ends with it applied once (live write ended by %s)', async (end, row, count) => {
    const live = await connect();
    const replay = await connect();
    try {
      await apply(transfer(30, [[1, 100, 90]]), "PREPARE TRANSACTION 'syncrep_test_30'", 'live', live);
      // The replay waits for the prepared position, then sees its outcome.
      const replaying = apply(transfer(30, [[1, 100, 90]]), 'COMMIT', 'replay', replay);
      await waitForLockWait();
      await live.query(`${end} 'syncrep_test_30'`);
      await replaying;
    } finally {
      await live.end();
      await replay.end();
    }
    expect((await salaries())[0]).toEqual(row);
    expect([await applied(30), await logged(30)]).toEqual([count, count]);
    expect(await nodes.prepared('leader')).toEqual([]);
  });

  test('a live write is refused whole (SR004) on a node marked as being repaired; a replay is not', async () => {
    await nodes.query('leader', "INSERT INTO syncrep_divergence (id, reason, kind) VALUES (1, 'rebuilt; catching up', 'rebuilding')");
    await expect(apply(transfer(40, [[1, 100, 90]]), 'COMMIT', 'live')).rejects.toMatchObject({ code: 'SR004' });
    expect((await salaries())[0]).toEqual([1, 100]);
    await apply(transfer(40, [[1, 100, 90]]), 'COMMIT', 'replay');
    expect((await salaries())[0]).toEqual([1, 90]);
  });

  test('an update of a row another position holds prepared waits for it, then matches the row as that position left it', async () => {
    const first = await connect();
    const second = await connect();
    try {
      await apply(transfer(50, [[1, 100, 90]]), "PREPARE TRANSACTION 'syncrep_test_50'", 'live', first);
      const next = apply(transfer(51, [[1, 90, 80]]), "PREPARE TRANSACTION 'syncrep_test_51'", 'live', second);
      await waitForLockWait();
      await first.query("COMMIT PREPARED 'syncrep_test_50'");
      await next;
      await second.query("COMMIT PREPARED 'syncrep_test_51'");
    } finally {
      await first.end();
      await second.end();
    }
    expect((await salaries())[0]).toEqual([1, 80]);
    expect([await applied(51), await logged(51)]).toEqual(['1', '1']);
    expect(await nodes.prepared('leader')).toEqual([]);
  });
});

test("a live write whose position lies outside its epoch's range is refused (SR003): it was taken before a promotion set the sequence", async () => {
  await nodes.query('leader', "UPDATE syncrep_epoch SET epoch = 1, leader = 'leader'");
  try {
    const own = await connect();
    try {
      const early = applySql([transfer(7, [[1, 100, 90]])], { epoch: 1n, leader: 'leader' }, 'live', books.get(true)!);
      await expect(applyOn(own, early, 'COMMIT')).rejects.toMatchObject({ code: SqlState.StaleEpoch });
      await own.query('ROLLBACK');
      const inRange = applySql(
        [transfer(Number(1n << 40n) + 7, [[1, 100, 90]])],
        { epoch: 1n, leader: 'leader' },
        'live',
        books.get(true)!,
      );
      await applyOn(own, inRange, 'COMMIT');
    } finally {
      await own.end();
    }
    expect((await salaries())[0]).toEqual([1, 90]);
  } finally {
    await nodes.query('leader', "UPDATE syncrep_epoch SET epoch = 0, leader = 'leader'");
  }
});

/** Until some session of the node waits on a lock (the replay, behind the prepared position). */
async function waitForLockWait(): Promise<void> {
  for (;;) {
    const waiting = await nodes.query('leader', "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock'");
    if (waiting.length > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
