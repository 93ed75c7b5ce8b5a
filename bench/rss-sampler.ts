/** Samples a process's RSS at an interval; `peak` is the highest sample seen. */
export class RssSampler {
  peak = 0;
  readonly samples: number[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly read: () => number,
    private readonly intervalMs = 100,
  ) {}

  start(): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    return this;
  }

  stop(): this {
    clearInterval(this.timer);
    this.sample();
    return this;
  }

  private sample(): void {
    const value = this.read();
    if (value === 0) return;
    this.samples.push(value);
    if (value > this.peak) this.peak = value;
  }
}
