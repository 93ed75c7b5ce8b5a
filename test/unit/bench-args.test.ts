import { parseArgs, UsageError } from '../../bench/args';

test('defaults measure every topology with no extra server settings', () => {
  const options = parseArgs([]);
  expect(options.topologies).toEqual(['alone', 'f1', 'f2-all', 'f2-q1']);
  expect(options.serverEnv).toEqual({});
  expect(options.clients).toEqual([1, 32]);
  expect(options.failover).toBe(3);
});

test('--failover sets the repetitions of each failover measurement; 0 skips them', () => {
  expect(parseArgs(['--failover', '5']).failover).toBe(5);
  expect(parseArgs(['--failover=0']).failover).toBe(0);
});

test('--topologies keeps the bench order whatever the order given; --server-env is parsed into settings', () => {
  const options = parseArgs(['--topologies', 'f2-all,alone', '--server-env=WRITE_CONCURRENCY=2, WRITE_BATCH_MAX=128']);
  expect(options.topologies).toEqual(['alone', 'f2-all']);
  expect(options.serverEnv).toEqual({ WRITE_CONCURRENCY: '2', WRITE_BATCH_MAX: '128' });
});

test.each([
  [['--topologies', 'f3'], '--topologies: unknown topology "f3"; choose from alone, f1, f2-all, f2-q1'],
  [['--server-env', 'write_concurrency=2'], '--server-env: "write_concurrency=2" is not NAME=value'],
  [['--server-env', '=2'], '--server-env: "=2" is not NAME=value'],
  [['--clients', '0'], '--clients "0" must be a whole number >= 1'],
  [['--failover', '-1'], '--failover "-1" must be a whole number >= 0'],
  [['--failover', '1.5'], '--failover "1.5" must be a whole number >= 0'],
  [['--speed', '3'], 'unknown flag --speed'],
])('%j is refused: %s', (argv, message) => {
  expect(() => parseArgs(argv)).toThrow(UsageError);
  expect(() => parseArgs(argv)).toThrow(message);
});
