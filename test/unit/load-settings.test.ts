import { ConfigError, loadSettings, parseNodeList } from '../../src/config/load-settings';

const TUTORIAL =
  'masterdb=postgres://postgres:Master123@localhost:5445/employee,replicadb=postgres://postgres:Replica123@localhost:5446/employee';

test('no configuration means the embedded three-node cluster on the tutorial ports', () => {
  const settings = loadSettings({});
  expect(settings.cluster).toMatchObject({ kind: 'embedded', basePort: 5445, followers: 2, sharedDir: '/var/lib/syncrep' });
  expect(settings.port).toBe(4000);
  expect(settings.metricsPort).toBeUndefined();
  expect(settings.sync).toEqual({ kind: 'all' });
  expect(settings.readWaitMs).toBe(1000);
});

test('REPLICATION_NODES: the first node is the leader, the rest followers, in order', () => {
  expect(parseNodeList(TUTORIAL).map((n) => n.name)).toEqual(['masterdb', 'replicadb']);
  expect(parseNodeList('solo=postgres://u:p@h:1/db')).toHaveLength(1);
});

test.each([
  ['', 'REPLICATION_NODES: is empty'],
  ['a=postgres://u:p@h/db,a=postgres://u:p@h/db2', 'node name "a" appears twice'],
  ['postgres://u:p@h/db', 'entry 1 has no name'],
  ['a=not a url', 'node "a" has a malformed URL'],
  ['a=http://h/db', 'node "a" URL must look like postgres://'],
  ['a=postgres://u:p@h', 'node "a" URL must look like postgres://'],
  ['bad name=postgres://u:p@h/db', 'node name "bad name"'],
])('REPLICATION_NODES=%j is refused: %s', (raw, message) => {
  expect(() => parseNodeList(raw)).toThrow(ConfigError);
  expect(() => parseNodeList(raw)).toThrow(message);
});

test.each([
  [{ PORT: 'abc' }, 'PORT: "abc" is not a whole number'],
  [{ PORT: '70000' }, 'PORT: 70000 is out of range'],
  [{ SYNC_MODE: 'most' }, 'SYNC_MODE: "most" is not one of all, quorum'],
  [{ SYNC_MODE: 'quorum' }, 'SYNC_QUORUM: is required'],
  [{ SYNC_MODE: 'quorum', SYNC_QUORUM: '0' }, 'SYNC_QUORUM: 0 is out of range (expected 1..2)'],
  [{ SYNC_MODE: 'quorum', SYNC_QUORUM: '3' }, 'SYNC_QUORUM: 3 is out of range (expected 1..2)'],
  [{ SYNC_QUORUM: '1' }, 'SYNC_QUORUM: is only used with SYNC_MODE=quorum'],
  [{ DB_TIMEOUT_MS: '5' }, 'DB_TIMEOUT_MS: 5 is out of range'],
  [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL: "loud" is not one of'],
  [{ METRICS_PORT: 'ninety' }, 'METRICS_PORT: "ninety" is not a whole number'],
  [{ VERIFY_INTERVAL_MS: 'hourly' }, 'VERIFY_INTERVAL_MS: "hourly" is not a whole number'],
  [{ VERIFY_INTERVAL_MS: '-5' }, 'VERIFY_INTERVAL_MS: "-5" is not a whole number'],
  [{ EMBEDDED_SHARED_DIR: 'shared' }, 'EMBEDDED_SHARED_DIR: "shared" is not an absolute path'],
  [{ READ_WAIT_MS: '60001' }, 'READ_WAIT_MS: 60001 is out of range (expected 0..60000)'],
])('bad setting %j stops startup naming it', (env, message) => {
  expect(() => loadSettings(env)).toThrow(message);
});

test('quorum k counts the configured followers', () => {
  expect(loadSettings({ REPLICATION_NODES: TUTORIAL, SYNC_MODE: 'quorum', SYNC_QUORUM: '1' }).sync).toEqual({ kind: 'quorum', quorum: 1 });
  expect(() => loadSettings({ REPLICATION_NODES: TUTORIAL, SYNC_MODE: 'quorum', SYNC_QUORUM: '2' })).toThrow('SYNC_QUORUM');
});

describe('ADMIN_TOKEN', () => {
  const CHOSEN = 'a-long-enough-token-16';

  test('a token of 16 or more visible ASCII characters is used as given', () => {
    expect(loadSettings({ ADMIN_TOKEN: CHOSEN }).admin).toEqual({ kind: 'token', token: CHOSEN, generated: false });
    expect(loadSettings({ ADMIN_TOKEN: 'x'.repeat(16), REPLICATION_NODES: TUTORIAL }).admin).toEqual({
      kind: 'token',
      token: 'x'.repeat(16),
      generated: false,
    });
  });

  test.each([
    ['too short', 'x'.repeat(15), 'ADMIN_TOKEN: is 15 characters; use at least 16'],
    ['a space inside', 'abcdefgh ijklmnopq', 'ADMIN_TOKEN: must be visible ASCII characters only'],
    ['a trailing newline', `${'x'.repeat(20)}\n`, 'ADMIN_TOKEN: must be visible ASCII characters only'],
    ['a tab', `${'x'.repeat(10)}\t${'x'.repeat(10)}`, 'ADMIN_TOKEN: must be visible ASCII characters only'],
    ['a control character', `${'x'.repeat(20)}\u0007`, 'ADMIN_TOKEN: must be visible ASCII characters only'],
    ['a non-ASCII letter', `${'x'.repeat(20)}é`, 'ADMIN_TOKEN: must be visible ASCII characters only'],
  ])('%s is refused, naming ADMIN_TOKEN and never its value', (_what, token, message) => {
    for (const env of [{ ADMIN_TOKEN: token }, { ADMIN_TOKEN: token, REPLICATION_NODES: TUTORIAL }]) {
      expect(() => loadSettings(env)).toThrow(ConfigError);
      expect(() => loadSettings(env)).toThrow(message);
      try {
        loadSettings(env);
      } catch (error) {
        expect((error as Error).message).not.toContain(token.trim());
      }
    }
  });

  test('unset (or empty) with the embedded cluster: a random base64url token of 24 bytes, new on every start', () => {
    const first = loadSettings({}).admin;
    const second = loadSettings({ ADMIN_TOKEN: '' }).admin;
    expect(first).toEqual({ kind: 'token', token: expect.stringMatching(/^[A-Za-z0-9_-]{32}$/), generated: true });
    expect(second).toEqual({ kind: 'token', token: expect.stringMatching(/^[A-Za-z0-9_-]{32}$/), generated: true });
    expect(first.kind === 'token' && second.kind === 'token' && first.token !== second.token).toBe(true);
  });

  test('unset with REPLICATION_NODES: admin access is off, no token is made up', () => {
    expect(loadSettings({ REPLICATION_NODES: TUTORIAL }).admin).toEqual({ kind: 'off' });
    expect(loadSettings({ REPLICATION_NODES: TUTORIAL, ADMIN_TOKEN: '' }).admin).toEqual({ kind: 'off' });
  });
});

test('the background consistency check is off unless VERIFY_INTERVAL_MS is set', () => {
  expect(loadSettings({ REPLICATION_NODES: TUTORIAL }).verifyIntervalMs).toBe(0);
  expect(loadSettings({ REPLICATION_NODES: TUTORIAL, VERIFY_INTERVAL_MS: '60000' }).verifyIntervalMs).toBe(60000);
});

describe('HTTP settings', () => {
  test('open by default; closed with NODE_ENV=production; each can be set', () => {
    expect(loadSettings({ REPLICATION_NODES: TUTORIAL }).http).toEqual({
      introspection: true,
      cacheControl: false,
      corsOrigins: '*',
      bodyLimitBytes: 4096 * 1024,
      requestTimeoutMs: 30_000,
    });
    expect(loadSettings({ REPLICATION_NODES: TUTORIAL, NODE_ENV: 'production' }).http).toMatchObject({
      introspection: false,
      corsOrigins: [],
    });
    const set = loadSettings({
      REPLICATION_NODES: TUTORIAL,
      NODE_ENV: 'production',
      INTROSPECTION: 'TRUE',
      CORS_ORIGINS: 'https://a.example, http://localhost:3000',
      BODY_LIMIT_KB: '1024',
      CACHE_CONTROL: 'true',
    }).http;
    expect(set).toMatchObject({
      introspection: true,
      cacheControl: true,
      corsOrigins: ['https://a.example', 'http://localhost:3000'],
      bodyLimitBytes: 1024 * 1024,
    });
  });

  test.each([
    [{ INTROSPECTION: 'yes' }, 'INTROSPECTION'],
    [{ CACHE_CONTROL: 'on' }, 'CACHE_CONTROL'],
    [{ CORS_ORIGINS: 'https://a.example/path' }, 'CORS_ORIGINS'],
    [{ CORS_ORIGINS: 'a.example' }, 'CORS_ORIGINS'],
    [{ BODY_LIMIT_KB: '10' }, 'BODY_LIMIT_KB'],
    [{ REQUEST_TIMEOUT_MS: 'soon' }, 'REQUEST_TIMEOUT_MS'],
  ])('%j is refused, naming %s', (env, setting) => {
    expect(() => loadSettings({ REPLICATION_NODES: TUTORIAL, ...env })).toThrow(ConfigError);
    expect(() => loadSettings({ REPLICATION_NODES: TUTORIAL, ...env })).toThrow(setting);
  });
});
