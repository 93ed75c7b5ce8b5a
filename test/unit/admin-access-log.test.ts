import { Writable } from 'node:stream';
import pino from 'pino';
import { loadSettings } from '../../src/config/load-settings';
import { announceAdminAccess } from '../../src/server/admin-access-log';

const NODES = 'leader=postgres://u:p@h:1/db';

/** Runs `announceAdminAccess` on a real pino logger at `level` and returns the lines it wrote. */
function announced(env: Record<string, string>, level = 'info'): { lines: { level: number; msg: string }[]; token?: string } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  const settings = loadSettings(env);
  announceAdminAccess(settings.admin, pino({ level }, sink));
  const lines = chunks
    .join('')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
  return { lines, token: settings.admin.kind === 'token' ? settings.admin.token : undefined };
}

test('a generated token (embedded cluster, no ADMIN_TOKEN) is logged once, at info, as a header to paste', () => {
  const { lines, token } = announced({});
  expect(lines).toHaveLength(1);
  expect(lines[0].level).toBe(30);
  expect(lines[0].msg).toContain(`Authorization: Bearer ${token}`);
  expect(lines[0].msg).toContain('Headers');
});

test('a token the operator chose is never logged', () => {
  const token = 'operator-chosen-token-123';
  const envs: Record<string, string>[] = [{ ADMIN_TOKEN: token }, { ADMIN_TOKEN: token, REPLICATION_NODES: NODES }];
  for (const env of envs) {
    const { lines } = announced(env, 'trace');
    expect(JSON.stringify(lines)).not.toContain(token);
    expect(lines.map((l) => l.msg)).toEqual(['admin operations need the header "Authorization: Bearer <ADMIN_TOKEN>"']);
  }
});

test('with REPLICATION_NODES and no ADMIN_TOKEN, admin access is off and the log says how to turn it on', () => {
  const { lines, token } = announced({ REPLICATION_NODES: NODES });
  expect(token).toBeUndefined();
  expect(lines.map((l) => l.msg)).toEqual(['admin operations are off: set ADMIN_TOKEN to turn them on']);
  expect(JSON.stringify(lines)).not.toMatch(/Bearer [A-Za-z0-9_-]{16}/);
});
