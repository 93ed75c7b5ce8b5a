import type { Logger } from '../logger';
import type { ReplicationService } from '../replication/replication-service';
import { Employee } from './employee.entity';
import { employeeWrites } from './employee.mutations';

/** The tutorial's two rows. */
export const TUTORIAL_ROWS = [
  { id: 101, name: 'John', salary: 285000 },
  { id: 102, name: 'Sam', salary: 255000 },
];

/**
 * Seeds the tutorial rows through the normal write path, on first start only: when the leader has
 * neither employees nor any replicated write. A cluster whose rows were all deleted stays empty.
 */
export async function seedTutorialRows(service: ReplicationService, log: Logger): Promise<void> {
  if (!(await service.isFresh(Employee))) return;
  const outcome = await service.write(employeeWrites.createMany(TUTORIAL_ROWS));
  log.info({ rows: TUTORIAL_ROWS.length, position: outcome.position }, 'seeded the tutorial rows');
}
