import { once } from 'node:events';
import { createServer, connect, type Server } from 'node:net';
import { withDeadline } from '../../src/replication/nodes/answer-deadline';

let server: Server;
let port: number;
beforeAll(async () => {
  // Echoes at once: its answer is on the socket long before any deadline below.
  server = createServer((socket) => socket.on('data', (d) => socket.write(d))).listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as { port: number }).port;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

async function connected() {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  return socket;
}

function busyFor(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end);
}

test('a node whose answer waited on the socket while this server was stalled past the deadline is not accused', async () => {
  const socket = await connected();
  try {
    const answer = once(socket, 'data').then(([d]) => String(d));
    socket.write('pong');
    const judged = withDeadline(answer, 50, 'timed out');
    busyFor(300);
    await expect(judged).resolves.toBe('pong');
  } finally {
    socket.destroy();
  }
});

test('a node that never answers is declared silent, with the message given', async () => {
  const silent = new Promise<never>(() => undefined);
  await expect(withDeadline(silent, 30, 'health check timeout')).rejects.toThrow('health check timeout');
});

test('a stalled server still declares a node that never answers silent (one extra span, not forever)', async () => {
  const silent = new Promise<never>(() => undefined);
  const judged = withDeadline(silent, 30, 'probe timed out');
  busyFor(200);
  await expect(judged).rejects.toThrow('probe timed out');
});

test("the work's own failure passes through", async () => {
  await expect(withDeadline(Promise.reject(new Error('refused')), 1000, 'timed out')).rejects.toThrow('refused');
});
