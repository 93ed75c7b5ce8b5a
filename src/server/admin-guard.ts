import type { AppContext } from './context';

/**
 * Throws UNAUTHENTICATED (no token) or FORBIDDEN (wrong token) unless the request carries
 * `Authorization: Bearer <ADMIN_TOKEN>`. Every operator-only operation calls this first.
 * (Skeleton: the admin-access work fills this in.)
 */
export function requireAdmin(_ctx: AppContext): void {}

/** True when the request carries the admin token; for fields shown to operators only. */
export function isAdmin(_ctx: AppContext): boolean {
  return true;
}
