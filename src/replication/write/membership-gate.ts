/**
 * Lets a follower join the synchronous set without missing a write: distributed commits hold the
 * gate open (shared) while they run; a rejoin takes it exclusively, which waits for the commits in
 * flight to finish and holds new ones back for the moment it takes to replay the last entries.
 */
export class MembershipGate {
  private active = 0;
  private closed: Promise<void> | undefined;
  private drained: (() => void)[] = [];

  async enter(): Promise<void> {
    while (this.closed) await this.closed;
    this.active += 1;
  }

  leave(): void {
    this.active -= 1;
    if (this.active === 0) for (const wake of this.drained.splice(0)) wake();
  }

  async exclusive<T>(work: () => Promise<T>): Promise<T> {
    while (this.closed) await this.closed;
    let open!: () => void;
    this.closed = new Promise<void>((resolve) => (open = resolve));
    try {
      if (this.active > 0) await new Promise<void>((resolve) => this.drained.push(resolve));
      return await work();
    } finally {
      this.closed = undefined;
      open();
    }
  }
}
