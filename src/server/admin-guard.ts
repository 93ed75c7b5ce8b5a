import { createHash, timingSafeEqual } from 'node:crypto';
import type { AdminAccess } from '../config/settings';
import { ErrorCode, userError } from '../errors/error-code';
import type { AppContext } from './context';
import { UnreachableCaseError } from '../errors/unreachable';

/** How a request stands against the admin token. */
type AdminStanding = 'admin' | 'off' | 'missing' | 'wrong';

const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** The digest requests are compared against (computed once at startup), or undefined when admin access is off. */
export function adminTokenDigest(admin: AdminAccess): Buffer | undefined {
  return admin.kind === 'token' ? sha256(admin.token) : undefined;
}

/**
 * Throws UNAUTHENTICATED (no token) or FORBIDDEN (wrong token, or admin access off) unless the
 * request carries `Authorization: Bearer <ADMIN_TOKEN>`. Every operator-only operation calls
 * this first.
 */
export function requireAdmin(ctx: AppContext): void {
  const standing = adminStanding(ctx);
  switch (standing) {
    case 'admin':
      return;
    case 'off':
      throw userError(ErrorCode.Forbidden, 'admin operations are off: set ADMIN_TOKEN on the server to turn them on');
    case 'missing':
      throw userError(
        ErrorCode.Unauthenticated,
        'this operation is for operators: send the header "Authorization: Bearer <ADMIN_TOKEN>" (in Apollo Sandbox, under Headers)',
      );
    case 'wrong':
      throw userError(
        ErrorCode.Forbidden,
        'the admin token is wrong: send the server\'s ADMIN_TOKEN as "Authorization: Bearer <ADMIN_TOKEN>"',
      );
    default:
      throw new UnreachableCaseError(standing, 'admin standing');
  }
}

/** True when the request carries the admin token; for fields shown to operators only. */
export function isAdmin(ctx: AppContext): boolean {
  return adminStanding(ctx) === 'admin';
}

function adminStanding(ctx: AppContext): AdminStanding {
  if (!ctx.adminTokenDigest) return 'off';
  // The scheme name is case-insensitive (RFC 9110); anything else, or no token after it, is no credential at all.
  const sent = /^Bearer +(\S.*)$/i.exec(ctx.authorization?.trim() ?? '')?.[1];
  if (sent === undefined) return 'missing';
  // Digests have one length whatever was sent, so the comparison takes the same time for any
  // wrong token and leaks neither its length nor how much of it matched.
  return timingSafeEqual(sha256(sent), ctx.adminTokenDigest) ? 'admin' : 'wrong';
}
