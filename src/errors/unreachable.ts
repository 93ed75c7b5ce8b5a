/**
 * Thrown from the `default` of a switch over a discriminated union that handles every member:
 * the compiler proves it never runs (`value` has type `never`), and if data from outside the
 * types ever gets there, the message says which value it was.
 */
export class UnreachableCaseError extends Error {
  constructor(value: never, what = 'case') {
    super(`unknown ${what}: ${JSON.stringify(value)}`);
    this.name = 'UnreachableCaseError';
  }
}
