import { compareLockKeys, type LockKey, type Write } from '../../src/replication/entities/write-tx';
import { WriteBatcher } from '../../src/replication/write/write-batcher';
import type { PendingWrite } from '../../src/replication/write/write-outcome';

const mutation = (key: number): Write<number> => ({ name: 'test', lockKey: ['emp', key], run: () => Promise.resolve(key) });

/** A committer that holds each batch until released, recording what it was given. */
class HeldCommitter {
  batches: number[][] = [];
  private releases: (() => void)[] = [];
  commit(batch: PendingWrite[]): Promise<void> {
    this.batches.push(batch.map((w) => Number(w.mutation.lockKey?.[1])));
    return new Promise((resolve) =>
      this.releases.push(() => {
        for (const w of batch) w.resolve({ value: Number(w.mutation.lockKey?.[1]), position: '1', committedOn: ['leader'] });
        resolve();
      }),
    );
  }
  releaseAll(): void {
    for (const release of this.releases.splice(0)) release();
  }
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

test('an idle path commits at once; writes arriving meanwhile wait for a worthwhile group, in key order', async () => {
  const committer = new HeldCommitter();
  const batcher = new WriteBatcher(committer, 8, 4); // groups of at least 2 alongside a running commit
  const first = batcher.submit(mutation(5));
  expect(committer.batches).toEqual([[5]]);
  const waiting = [batcher.submit(mutation(3))];
  await tick();
  expect(committer.batches).toHaveLength(1);
  waiting.push(batcher.submit(mutation(1)));
  expect(committer.batches).toEqual([[5], [1, 3]]);
  committer.releaseAll();
  await expect(first).resolves.toMatchObject({ value: 5 });
  await expect(Promise.all(waiting)).resolves.toHaveLength(2);
});

test('stop waits for every queued and running write, and refuses new ones', async () => {
  const committer = new HeldCommitter();
  const batcher = new WriteBatcher(committer, 8, 1);
  const running = batcher.submit(mutation(1));
  const queued = batcher.submit(mutation(2));
  const stopped = batcher.stop();
  await expect(batcher.submit(mutation(3))).rejects.toMatchObject({ extensions: { code: 'LEADER_UNAVAILABLE' } });
  committer.releaseAll();
  await running;
  await tick();
  committer.releaseAll();
  await queued;
  await stopped;
  expect(committer.batches).toEqual([[1], [2]]);
});

test('a commit whose leader has decided gives up its place: the next starts while it finishes, and stop waits for both', async () => {
  const settle: (() => void)[] = [];
  const releases: (() => void)[] = [];
  const started: number[][] = [];
  const committer = {
    commit(batch: PendingWrite[], released: () => void): Promise<void> {
      started.push(batch.map((w) => Number(w.mutation.lockKey?.[1])));
      releases.push(released);
      return new Promise<void>((resolve) =>
        settle.push(() => {
          for (const w of batch) w.resolve({ value: 0, position: '1', committedOn: ['leader'] });
          resolve();
        }),
      );
    },
  };
  const batcher = new WriteBatcher(committer, 8, 1);
  const first = batcher.submit(mutation(1));
  const second = batcher.submit(mutation(2));
  await tick();
  expect(started).toEqual([[1]]);
  releases[0]();
  expect(started).toEqual([[1], [2]]);
  let stopped = false;
  const stopping = batcher.stop().then(() => (stopped = true));
  settle[1]();
  await second;
  await tick();
  expect(stopped).toBe(false);
  settle[0]();
  await first;
  await stopping;
  expect(stopped).toBe(true);
});

test('lock keys sort by table, then key, numbers before strings, consistently', () => {
  const keys: LockKey[] = [
    ['emp', 'b'],
    ['department', 'Sales'],
    ['emp', 3],
    ['department', 5],
    ['emp', 'a'],
    ['department', 1],
  ];
  const sorted = [...keys].sort(compareLockKeys);
  expect(sorted).toEqual([
    ['department', 1],
    ['department', 5],
    ['department', 'Sales'],
    ['emp', 3],
    ['emp', 'a'],
    ['emp', 'b'],
  ]);
  // Antisymmetric for every pair: a sort given a comparator that is not may order anyhow.
  for (const a of keys) for (const b of keys) expect(Math.sign(compareLockKeys(a, b)) + Math.sign(compareLockKeys(b, a))).toBe(0);
});
