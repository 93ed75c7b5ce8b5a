/** Lifecycle of a started syncrep, in the order it moves through (it exists only once it runs). */
export type ServerState = { kind: 'running'; url: string } | { kind: 'stopping'; stopped: Promise<void> } | { kind: 'stopped' };
