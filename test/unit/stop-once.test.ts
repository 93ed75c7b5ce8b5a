import { StopOnce } from '../../src/lifecycle/stop-once';

test('the first stop runs the work once; a call while it runs waits for the same run; a later one returns at once', async () => {
  const life = new StopOnce();
  let runs = 0;
  let finish!: () => void;
  const work = () => {
    runs += 1;
    return new Promise<void>((resolve) => (finish = resolve));
  };
  const first = life.stop(work);
  const second = life.stop(work);
  expect(life.state.kind).toBe('stopping');
  finish();
  await Promise.all([first, second]);
  expect(life.state.kind).toBe('stopped');
  await life.stop(work);
  expect(runs).toBe(1);
});

test('a stop that failed is reported again to every later call, and its work is not run twice', async () => {
  const life = new StopOnce();
  const failure = new Error('the pools could not be closed');
  let runs = 0;
  const failing = () => {
    runs += 1;
    return Promise.reject(failure);
  };
  await expect(life.stop(failing)).rejects.toBe(failure);
  await expect(life.stop(failing)).rejects.toBe(failure);
  expect(life.state.kind).toBe('stopping');
  expect(runs).toBe(1);
});
