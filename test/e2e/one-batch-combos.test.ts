import 'reflect-metadata';
import type { GraphQLError } from 'graphql';
import { Client } from 'pg';
import type { Syncrep } from '../../src/app';
import { employeeWrites } from '../../src/employee/employee.mutations';
import type { Write } from '../../src/replication/entities/write-tx';
import { LocalNodes } from '../../harness/nodes';
import { startServer } from '../support/server';
import { waitFor } from '../support/wait';

/**
 * Conflicting mutations of the same ids inside ONE group commit, in a known order: the running
 * commit is held on a row lock while the combination is queued, so the next commit carries all
 * of it. Each combination runs three ways: alone (fast path, no savepoints), with a duplicate
 * create appended (slow path, one savepoint each), and with a raw NUL-name create appended (the
 * "unusable transaction" path). Checks the outcome of each mutation, the rows on every node,
 * and that the confirm statement (SR002) never refuses a good batch.
 */
let nodes: LocalNodes;
let app: Syncrep;
const NODES = ['leader', 'follower-1', 'follower-2'];
const HOLD = 1;

beforeAll(async () => {
  nodes = await LocalNodes.start(2);
  app = await startServer(nodes, { WRITE_CONCURRENCY: '1' });
  await app.service.write(
    m().createMany([
      { id: HOLD, name: 'hold', salary: 0 },
      { id: 2, name: 'taken', salary: 0 },
    ]),
  );
});

afterAll(async () => {
  await app?.stop();
  await nodes?.stop();
});

const m = () => employeeWrites;
type Op = () => Write<unknown>;
type Outcome = string; // 'ok' or the error code

async function inOneCommit(ops: Op[]): Promise<Outcome[]> {
  const holder = new Client({ connectionString: nodes.node('leader').url });
  await holder.connect();
  try {
    await holder.query(`BEGIN; SELECT 1 FROM emp WHERE id = ${HOLD} FOR UPDATE`);
    const running = app.service.write(m().update(HOLD, { salary: 1 }));
    await waitFor(async () => {
      // pg_stat_activity is read once per transaction unless cleared: the holder's is still open.
      await holder.query('SELECT pg_stat_clear_snapshot()');
      return (
        ((await holder.query('SELECT 1 FROM pg_stat_activity WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))')).rowCount ?? 0) >= 1
      );
    }, 'held');
    const results = ops.map((op) =>
      app.service.write(op()).then(
        () => 'ok',
        (error: GraphQLError) => String(error.extensions?.code),
      ),
    );
    await holder.query('COMMIT');
    await running;
    return await Promise.all(results);
  } finally {
    await holder.end();
  }
}

async function rows(ids: number[]): Promise<unknown[]> {
  const all = await Promise.all(NODES.map((n) => nodes.query(n, 'SELECT id, name, salary FROM emp WHERE id = ANY($1) ORDER BY id', [ids])));
  expect(all[1]).toEqual(all[0]);
  expect(all[2]).toEqual(all[0]);
  for (const n of NODES) expect(await nodes.prepared(n)).toEqual([]);
  return all[0];
}

const dup: Op = () => m().create({ id: 2, name: 'dup', salary: 0 });
const nul =
  (id: number): Op =>
  () =>
    m().create({ id, name: `bad\u0000${id}`, salary: 0 });

/** Two rows, b ('a') and b+1 ('b'), each with salary 100. */
const twoAccounts = (b: number): Op[] => [
  () =>
    m().createMany([
      { id: b, name: 'a', salary: 100 },
      { id: b + 1, name: 'b', salary: 100 },
    ]),
];

interface Combo {
  name: string;
  /** Ops for base id b (fresh for each run). */
  ops: (b: number) => Op[];
  setup?: (b: number) => Op[];
  outcomes: Outcome[];
  final: (b: number) => { id: number; name: string; salary: number }[];
  ids: (b: number) => number[];
}

const combos: Combo[] = [
  {
    name: 'create then delete the same id',
    ops: (b) => [() => m().create({ id: b, name: 'c', salary: 1 }), () => m().delete(b)],
    outcomes: ['ok', 'ok'],
    final: () => [],
    ids: (b) => [b],
  },
  {
    name: 'create, update, delete, create again',
    ops: (b) => [
      () => m().create({ id: b, name: 'c1', salary: 1 }),
      () => m().update(b, { salary: 2 }),
      () => m().delete(b),
      () => m().create({ id: b, name: 'c2', salary: 3 }),
    ],
    outcomes: ['ok', 'ok', 'ok', 'ok'],
    final: (b) => [{ id: b, name: 'c2', salary: 3 }],
    ids: (b) => [b],
  },
  {
    name: 'update, delete, update of an existing id',
    setup: (b) => [() => m().create({ id: b, name: 's', salary: 10 })],
    ops: (b) => [() => m().update(b, { salary: 11 }), () => m().delete(b), () => m().update(b, { salary: 12 })],
    outcomes: ['ok', 'ok', 'NOT_FOUND'],
    final: () => [],
    ids: (b) => [b],
  },
  {
    name: 'delete then create the same id',
    setup: (b) => [() => m().create({ id: b, name: 's', salary: 10 })],
    ops: (b) => [() => m().delete(b), () => m().create({ id: b, name: 'new', salary: 5 })],
    outcomes: ['ok', 'ok'],
    final: (b) => [{ id: b, name: 'new', salary: 5 }],
    ids: (b) => [b],
  },
  {
    name: 'transfers both ways, a delete of one side, a transfer to the deleted one',
    setup: twoAccounts,
    ops: (b) => [
      () => m().transfer(b, b + 1, 30),
      () => m().transfer(b + 1, b, 50),
      // Mutations run in order of their smallest key (stable): keep every one keyed b.
      () => m().delete(b),
      () => m().transfer(b + 1, b, 1),
    ],
    outcomes: ['ok', 'ok', 'ok', 'NOT_FOUND'],
    final: (b) => [{ id: b + 1, name: 'b', salary: 80 }],
    ids: (b) => [b, b + 1],
  },
  {
    name: 'update, overdraft of the same row (changed rows then refused), update again',
    setup: twoAccounts,
    ops: (b) => [
      () => m().update(b, { salary: 50 }),
      () => m().transfer(b, b + 1, 60),
      () => m().update(b, { name: 'a2' }),
      () => m().transfer(b, b + 1, 50),
    ],
    outcomes: ['ok', 'BAD_USER_INPUT', 'ok', 'ok'],
    final: (b) => [
      { id: b, name: 'a2', salary: 0 },
      { id: b + 1, name: 'b', salary: 150 },
    ],
    ids: (b) => [b, b + 1],
  },
  {
    name: 'createMany, delete one of them, update another, re-create the deleted one',
    ops: (b) => [
      () =>
        m().createMany([
          { id: b, name: 'p', salary: 1 },
          { id: b + 1, name: 'q', salary: 1 },
        ]),
      () => m().delete(b),
      () => m().update(b + 1, { salary: 9 }),
      () => m().create({ id: b, name: 'p2', salary: 2 }),
      () => m().create({ id: b + 1, name: 'dupq', salary: 2 }),
    ],
    outcomes: ['ok', 'ok', 'ok', 'ok', 'ALREADY_EXISTS'],
    final: (b) => [
      { id: b, name: 'p2', salary: 2 },
      { id: b + 1, name: 'q', salary: 9 },
    ],
    ids: (b) => [b, b + 1],
  },
  {
    name: 'update to the same value twice, then back',
    setup: (b) => [() => m().create({ id: b, name: 's', salary: 10 })],
    ops: (b) => [() => m().update(b, { salary: 10 }), () => m().update(b, { salary: 11 }), () => m().update(b, { salary: 10 })],
    outcomes: ['ok', 'ok', 'ok'],
    final: (b) => [{ id: b, name: 's', salary: 10 }],
    ids: (b) => [b],
  },
  {
    name: 'delete, create, delete the same id',
    setup: (b) => [() => m().create({ id: b, name: 's', salary: 10 })],
    ops: (b) => [() => m().delete(b), () => m().create({ id: b, name: 'n', salary: 1 }), () => m().delete(b)],
    outcomes: ['ok', 'ok', 'ok'],
    final: () => [],
    ids: (b) => [b],
  },
];

const tails: { name: string; ops: (b: number) => Op[]; outcomes: Outcome[] }[] = [
  { name: 'fast path', ops: () => [], outcomes: [] },
  { name: 'slow path (duplicate create)', ops: () => [dup], outcomes: ['ALREADY_EXISTS'] },
  { name: 'unusable path (raw NUL create)', ops: (b) => [nul(b + 50)], outcomes: ['BAD_USER_INPUT'] },
  { name: 'NUL first, then duplicate', ops: (b) => [nul(b + 50), dup], outcomes: ['BAD_USER_INPUT', 'ALREADY_EXISTS'] },
];

let base = 1000;
for (const combo of combos) {
  for (const tail of tails) {
    test(`${combo.name} — ${tail.name}`, async () => {
      base += 100;
      const b = base;
      for (const op of combo.setup?.(b) ?? []) await app.service.write(op());
      // The batch runs in order of each mutation's smallest key (stable); the tail's id 2 runs first.
      const outcomes = await inOneCommit([...combo.ops(b), ...tail.ops(b)]);
      expect(outcomes).toEqual([...combo.outcomes, ...tail.outcomes]);
      expect(await rows([...combo.ids(b), b + 50])).toEqual(combo.final(b));
    });
  }
}
