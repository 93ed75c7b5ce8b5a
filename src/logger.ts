import pino, { type Logger } from 'pino';

/** Builds the process logger; JSON lines on stdout, as pino does best. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'syncrep' } });
}

export type { Logger };
