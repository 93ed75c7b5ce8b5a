/** A node or setting that cannot be used at startup; the message says which one and what to fix. */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}
