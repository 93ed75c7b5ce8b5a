import 'pg';

declare module 'pg' {
  interface ClientBase {
    /**
     * The PostgreSQL backend's process id, from BackendKeyData at connect (pg sets it and uses it
     * to cancel queries; @types/pg leaves it out). The write path waits for a leader session whose
     * COMMIT's outcome is unknown to end (write/undecided.ts).
     */
    processID: number | null;
  }
}
