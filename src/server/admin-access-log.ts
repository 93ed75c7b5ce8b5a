import type { AdminAccess } from '../config/settings';
import type { Logger } from '../logger';

/**
 * Logs, once at startup, how admin access stands. A generated token is the one time the secret
 * is logged: with the embedded cluster this log is the only way to learn it, and the line is
 * ready to paste into Apollo Sandbox's Headers tab.
 */
export function announceAdminAccess(admin: AdminAccess, log: Logger): void {
  if (admin.kind === 'off') {
    log.info('admin operations are off: set ADMIN_TOKEN to turn them on');
  } else if (admin.generated) {
    log.info(
      `admin token generated for this run (set ADMIN_TOKEN to choose your own); for admin operations, add this in Apollo Sandbox's Headers tab: Authorization: Bearer ${admin.token}`,
    );
  } else {
    log.info('admin operations need the header "Authorization: Bearer <ADMIN_TOKEN>"');
  }
}
