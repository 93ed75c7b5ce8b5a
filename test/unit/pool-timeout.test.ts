import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Pool } from 'pg';
import { isPoolTimeout } from '../../src/replication/sql/sql';

// A listener that accepts connections and never answers: pg-pool's wait for a connection runs out.
let silent: Server;
const sockets: Socket[] = [];

beforeAll(async () => {
  silent = createServer((socket) => void sockets.push(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => silent.close(resolve));
});

const urlOf = (port: number) => `postgres://u:p@127.0.0.1:${port}/db`;

const failureOf = (attempt: Promise<unknown>): Promise<unknown> =>
  attempt.then(
    () => undefined,
    (error: unknown) => error,
  );

test("pg-pool's time-out waiting for a connection while every one is in use is recognised; a slow new connection's is not", async () => {
  // One connection, and it never gets an answer: the second caller waits in pg-pool's queue.
  const pool = new Pool({ connectionString: urlOf((silent.address() as AddressInfo).port), max: 1, connectionTimeoutMillis: 200 });
  pool.on('error', () => undefined);
  try {
    const first = failureOf(pool.connect());
    const queued = failureOf(pool.connect());
    expect(isPoolTimeout(await queued)).toBe(true);
    const connecting = await first;
    expect((connecting as Error).message).toMatch(/connection timeout/);
    expect(isPoolTimeout(connecting)).toBe(false);
  } finally {
    await pool.end().catch(() => undefined);
  }
});

test('a refused connection is not a pool time-out: the node is unreachable', async () => {
  // A port nothing listens on: bound and closed at once.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  const pool = new Pool({ connectionString: urlOf(port), max: 1, connectionTimeoutMillis: 2000 });
  try {
    const failure = await failureOf(pool.connect());
    expect((failure as { code?: string }).code).toBe('ECONNREFUSED');
    expect(isPoolTimeout(failure)).toBe(false);
  } finally {
    await pool.end().catch(() => undefined);
  }
});
