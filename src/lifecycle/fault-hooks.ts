import type { FaultPoint } from '../config/settings';

/**
 * Named steps of the write path and of a promotion where the fault tests stop the server dead
 * (SYNCREP_FAULT_POINT), as a crash would. Injected: a server started without the setting gets
 * NO_FAULTS, and the classes that call `at` never know whether anything listens.
 */
export interface FaultHooks {
  /** Reached `point`. */
  at(point: FaultPoint): void;
  /** Whether `point` is armed (a step that changes its order only when it is, say). */
  armed(point: FaultPoint): boolean;
}

/** Nothing is armed. */
export const NO_FAULTS: FaultHooks = { at: () => undefined, armed: () => false };

/** SIGKILLs this process on reaching `point`. */
export function killAt(point: FaultPoint): FaultHooks {
  return {
    at: (reached) => {
      if (reached === point) process.kill(process.pid, 'SIGKILL');
    },
    armed: (asked) => asked === point,
  };
}
