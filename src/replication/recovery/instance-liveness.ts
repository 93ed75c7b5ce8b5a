import { Client } from 'pg';
import type { Roster } from '../nodes/cluster';
import { applicationNameOf } from '../write/gid';
import { rows } from '../sql/sql';
import { instanceSessions } from '../sql/instance-statements';

/**
 * Tells whether a server instance is alive, from the leader's session list. Every session of an
 * instance carries its application_name, and each instance keeps one session open on the leader
 * for as long as it lives. A process that dies, however it dies, loses its sessions once the
 * leader has finished what they were doing (a COMMIT sent just before the crash included): only
 * then may another instance settle its prepared transactions. After a promotion the session
 * moves to the new leader (`hold` is called every health round).
 */
export class InstanceLiveness {
  private held: { client: Client; url: string } | undefined;

  constructor(
    private readonly cluster: Roster,
    readonly instance: string,
  ) {}

  /** Opens (or, after the leader restarted or moved, reopens) this instance's presence session. */
  async hold(): Promise<void> {
    const url = this.cluster.leader.url;
    if (this.held?.url === url) return;
    await this.release();
    const client = new Client({ connectionString: url, application_name: applicationNameOf(this.instance) });
    client.on('error', () => undefined);
    client.on('end', () => {
      if (this.held?.client === client) this.held = undefined;
    });
    await client.connect();
    this.held = { client, url };
  }

  /** True while the leader runs any session of `instance`. */
  async isAlive(instance: string): Promise<boolean> {
    if (instance === this.instance) return true;
    return (await rows(this.cluster.leader.pool, instanceSessions(applicationNameOf(instance)))).length > 0;
  }

  async release(): Promise<void> {
    const client = this.held?.client;
    this.held = undefined;
    await client?.end().catch(() => undefined);
  }
}
