import { ConfigError, loadSettings } from '../../src/config/load-settings';

const EXTERNAL = 'masterdb=postgres://postgres:Master123@localhost:5445/employee';

test('the embedded cluster seeds the tutorial rows unless told not to', () => {
  expect(loadSettings({}).seedExampleRows).toBe(true);
  expect(loadSettings({ SEED_EXAMPLE_ROWS: 'false' }).seedExampleRows).toBe(false);
  expect(loadSettings({ SEED_EXAMPLE_ROWS: 'FALSE' }).seedExampleRows).toBe(false);
});

test("REPLICATION_NODES seeds nothing unless asked: they are someone else's databases", () => {
  expect(loadSettings({ REPLICATION_NODES: EXTERNAL }).seedExampleRows).toBe(false);
  expect(loadSettings({ REPLICATION_NODES: EXTERNAL, SEED_EXAMPLE_ROWS: 'true' }).seedExampleRows).toBe(true);
  expect(loadSettings({ REPLICATION_NODES: EXTERNAL, SEED_EXAMPLE_ROWS: ' True ' }).seedExampleRows).toBe(true);
});

test('an empty SEED_EXAMPLE_ROWS means the default, as for the other settings', () => {
  expect(loadSettings({ SEED_EXAMPLE_ROWS: '' }).seedExampleRows).toBe(true);
  expect(loadSettings({ REPLICATION_NODES: EXTERNAL, SEED_EXAMPLE_ROWS: '' }).seedExampleRows).toBe(false);
});

test.each(['yes', '1', 'on'])('SEED_EXAMPLE_ROWS=%s stops startup naming the setting', (raw) => {
  for (const env of [{ SEED_EXAMPLE_ROWS: raw }, { SEED_EXAMPLE_ROWS: raw, REPLICATION_NODES: EXTERNAL }]) {
    expect(() => loadSettings(env)).toThrow(ConfigError);
    expect(() => loadSettings(env)).toThrow(`SEED_EXAMPLE_ROWS: "${raw}" is not true or false`);
  }
});
