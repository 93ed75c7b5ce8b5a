import { Client } from 'pg';
import type { LeaderNode } from '../nodes/cluster-node';
import { applicationNameOf } from '../write/gid';
import { rows } from '../sql/sql';
import { instanceSessions } from '../sql/statements';

/**
 * Tells whether a server instance is alive, from the leader's session list. Every session of an
 * instance carries its application_name, and each instance keeps one session open for as long as
 * it lives. A process that dies, however it dies, loses its sessions once the leader has finished
 * what they were doing (a COMMIT sent just before the crash included): only then may another
 * instance settle its prepared transactions.
 */
export class InstanceLiveness {
  private client: Client | undefined;

  constructor(
    private readonly leader: LeaderNode,
    private readonly leaderUrl: string,
    readonly instance: string,
  ) {}

  /** Opens (or, after the leader restarted, reopens) this instance's presence session. */
  async hold(): Promise<void> {
    if (this.client) return;
    const client = new Client({ connectionString: this.leaderUrl, application_name: applicationNameOf(this.instance) });
    client.on('error', () => undefined);
    client.on('end', () => {
      if (this.client === client) this.client = undefined;
    });
    await client.connect();
    this.client = client;
  }

  /** True while the leader runs any session of `instance`. */
  async isAlive(instance: string): Promise<boolean> {
    if (instance === this.instance) return true;
    return (await rows(this.leader.pool, instanceSessions(applicationNameOf(instance)))).length > 0;
  }

  async release(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }
}
