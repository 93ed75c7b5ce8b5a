import { GraphQLError } from 'graphql';
import { adminTokenDigest, isAdmin, requireAdmin } from '../../src/server/admin-guard';
import type { AppContext } from '../../src/server/context';

const TOKEN = 'right-token-0123456789';

/** A request context as app.ts builds it (the guard reads only the header and the digest); `token` null: admin access off. */
function context(authorization: string | undefined, token: string | null = TOKEN): AppContext {
  const admin = token === null ? ({ kind: 'off' } as const) : ({ kind: 'token', token, generated: false } as const);
  return {
    replication: undefined as never,
    events: undefined as never,
    servedBy: new Set(),
    authorization,
    adminTokenDigest: adminTokenDigest(admin),
  };
}

/** The code and message requireAdmin throws, or 'allowed'. */
function outcome(ctx: AppContext): 'allowed' | { code: unknown; message: string } {
  try {
    requireAdmin(ctx);
    return 'allowed';
  } catch (error) {
    if (!(error instanceof GraphQLError)) throw error;
    return { code: error.extensions.code, message: error.message };
  }
}

test('the right token is admin, whatever the case of "Bearer"', () => {
  for (const header of [`Bearer ${TOKEN}`, `bearer ${TOKEN}`, `BEARER  ${TOKEN} `]) {
    expect(outcome(context(header))).toBe('allowed');
    expect(isAdmin(context(header))).toBe(true);
  }
});

test.each([
  ['no Authorization header', undefined],
  ['an empty header', ''],
  ['another scheme', `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}`],
  ['the token without a scheme', TOKEN],
  ['"Bearer" and no token', 'Bearer '],
])('%s is UNAUTHENTICATED, saying how to send the token', (_what, header) => {
  expect(outcome(context(header))).toEqual({
    code: 'UNAUTHENTICATED',
    message: expect.stringContaining('Authorization: Bearer <ADMIN_TOKEN>'),
  });
  expect(isAdmin(context(header))).toBe(false);
});

test.each([
  ['a wrong token of the same length', `Bearer ${TOKEN.replace(/9$/, '8')}`],
  ['a prefix of the token', `Bearer ${TOKEN.slice(0, -1)}`],
  ['the token and more', `Bearer ${TOKEN}0`],
  ['a much longer token', `Bearer ${TOKEN.repeat(50)}`],
  ['the token in two parts', `Bearer ${TOKEN.slice(0, 5)} ${TOKEN.slice(5)}`],
])('%s is FORBIDDEN', (_what, header) => {
  expect(outcome(context(header))).toEqual({ code: 'FORBIDDEN', message: expect.stringContaining('admin token is wrong') });
  expect(isAdmin(context(header))).toBe(false);
});

test('with admin access off, every request is FORBIDDEN, telling the operator to set ADMIN_TOKEN', () => {
  for (const header of [undefined, `Bearer ${TOKEN}`, 'Bearer anything-at-all-long-enough']) {
    expect(outcome(context(header, null))).toEqual({
      code: 'FORBIDDEN',
      message: expect.stringContaining('admin operations are off: set ADMIN_TOKEN'),
    });
    expect(isAdmin(context(header, null))).toBe(false);
  }
});

test('no error message echoes the token, right or wrong', () => {
  for (const header of [`Bearer ${TOKEN}x`, `Basic ${TOKEN}`]) {
    const result = outcome(context(header));
    expect(JSON.stringify(result)).not.toContain(TOKEN);
  }
});
