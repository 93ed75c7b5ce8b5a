import 'reflect-metadata';
import { DataSource } from 'typeorm';
import type { NodeSettings } from './src/config/settings';
import { Employee } from './src/employee/employee.entity';
import { CreateEmp1732600000000 } from './src/migrations/1732600000000-create-emp';
import { ReplicationTables1732600000001 } from './src/migrations/1732600000001-replication-tables';
import { LogRetention1732600000002 } from './src/migrations/1732600000002-log-retention';
import { LeaderConfirm1732600000003 } from './src/migrations/1732600000003-leader-confirm';
import { DivergenceMark1732600000004 } from './src/migrations/1732600000004-divergence-mark';
import { EpochFence1732600000005 } from './src/migrations/1732600000005-epoch-fence';
import { ExactApply1732600000006 } from './src/migrations/1732600000006-exact-apply';
import { ApplyTake1732600000007 } from './src/migrations/1732600000007-apply-take';
import { NoteExcludedAgain1732600000008 } from './src/migrations/1732600000008-note-excluded-again';
import { Department1732600000009 } from './src/migrations/1732600000009-department';
import { Department } from './src/department/department.entity';

/** Pool and timeout settings shared by every node's DataSource. */
export interface DataSourceTuning {
  poolSize: number;
  /** Client-side limit on connecting and on every query, in ms. */
  timeoutMs: number;
  /** Shown in pg_stat_activity; names the server instance, so others can see its sessions. */
  applicationName: string;
}

/**
 * Builds the TypeORM DataSource of one node. Every node gets the same entities and migrations;
 * schema changes only ever happen through migrations (no `synchronize`), run on every node at startup.
 * TypeORM's own `replication` option is deliberately not used: it assumes the database replicates itself.
 */
export function buildDataSource(node: NodeSettings, tuning: DataSourceTuning): DataSource {
  return new DataSource({
    type: 'postgres',
    url: node.url,
    entities: [Department, Employee],
    migrations: [
      CreateEmp1732600000000,
      ReplicationTables1732600000001,
      LogRetention1732600000002,
      LeaderConfirm1732600000003,
      DivergenceMark1732600000004,
      EpochFence1732600000005,
      ExactApply1732600000006,
      ApplyTake1732600000007,
      NoteExcludedAgain1732600000008,
      Department1732600000009,
    ],
    migrationsTableName: 'syncrep_migrations',
    synchronize: false,
    logging: false,
    applicationName: tuning.applicationName,
    poolSize: tuning.poolSize,
    connectTimeoutMS: tuning.timeoutMs,
    extra: {
      // pg's client-side timeout: a hung node fails the call instead of hanging the request.
      query_timeout: tuning.timeoutMs,
      // And the server's own, a little later: a statement whose client gave up (waiting on a lock,
      // say) is cancelled instead of holding the locks it has until whatever it waits for ends.
      statement_timeout: tuning.timeoutMs + 1000,
      idleTimeoutMillis: 30_000,
    },
    // Errors on idle connections (a node restarting) are expected; the health monitor reports them.
    poolErrorHandler: () => undefined,
  });
}
