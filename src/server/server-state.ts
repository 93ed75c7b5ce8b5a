/** Lifecycle of the syncrep process, in the order it moves through. */
export type ServerState =
  | { kind: 'starting' }
  | { kind: 'running'; url: string }
  | { kind: 'stopping'; stopped: Promise<void> }
  | { kind: 'stopped' };
