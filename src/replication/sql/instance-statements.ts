import { statement } from './statement';

/** Statements about prepared transactions and the sessions of server instances (in-doubt settling, liveness). */

/** syncrep's prepared transactions on a node, if the node is at `epoch` with `leader` (none otherwise: not this server's to settle). */
export const preparedGids = (prefix: string, epoch: bigint, leader: string) =>
  statement<{ gid: string }>(
    `SELECT gid FROM pg_prepared_xacts WHERE database = current_database() AND gid LIKE $1
        AND EXISTS (SELECT 1 FROM syncrep_epoch WHERE epoch = $2 AND leader = $3)`,
    [`${prefix.replace(/_/g, '\\_')}%`, epoch.toString(), leader],
  );

/** Every syncrep prepared transaction on a node, whatever its epoch (a promotion settles them all). */
export const allPreparedGids = (prefix: string) =>
  statement<{ gid: string }>('SELECT gid FROM pg_prepared_xacts WHERE database = current_database() AND gid LIKE $1', [
    `${prefix.replace(/_/g, '\\_')}%`,
  ]);

export const sessionAlive = (pid: number) => statement<{ alive: number }>('SELECT 1 AS alive FROM pg_stat_activity WHERE pid = $1', [pid]);

export const instanceSessions = (applicationName: string) =>
  statement<{ alive: number }>('SELECT 1 AS alive FROM pg_stat_activity WHERE application_name = $1', [applicationName]);
