import { CloseCode, handleProtocols, makeServer, type Server } from 'graphql-ws';
import type http from 'node:http';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { Logger } from '../logger';
import { subscriptionOptions, type ConnectionExtra, type OperationOptions } from './subscription-operations';

export interface SubscriptionServerOptions extends OperationOptions {
  /** Largest message a client may send: the HTTP body limit, as a subscribe message carries a document as a body does. */
  maxPayloadBytes: number;
  /** CORS_ORIGINS: a browser page of another origin may open a socket only if it may POST. */
  corsOrigins: '*' | string[];
  /** Paths GraphQL answers on over HTTP; an upgrade to any other path is refused. */
  servesPath: (path: string) => boolean;
  log: Logger;
}

/** A client that has not answered a ping by the next one is cut off, and its subscriptions end. */
const KEEPALIVE_MS = 12_000;
/** WebSocket's close code for a server that is stopping (RFC 6455). */
const GOING_AWAY = 1001;
/** How long stop() lets clients answer the close before cutting them off. */
const CLOSE_GRACE_MS = 1_000;

/**
 * GraphQL subscriptions over WebSocket (the graphql-ws protocol, `graphql-transport-ws`) on the
 * HTTP server's own port and GraphQL path. graphql-ws's protocol core is used with this small
 * adapter over `ws` rather than its `useServer`, which writes its failures to the console: here
 * every failure goes to the JSON log, and stop() cuts off clients that do not close in time.
 */
export class SubscriptionServer {
  private constructor(
    private readonly sockets: WebSocketServer,
    private readonly detach: () => void,
  ) {}

  /** Serves subscriptions on upgrades of `httpServer`'s GraphQL path, from now on. */
  static attach(httpServer: http.Server, options: SubscriptionServerOptions): SubscriptionServer {
    const sockets = new WebSocketServer({ noServer: true, maxPayload: options.maxPayloadBytes, handleProtocols });
    const protocol = makeServer(subscriptionOptions(options));
    sockets.on('connection', (socket: WebSocket, request: IncomingMessage) => serve(socket, request, protocol, options.log));
    const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on('error', () => undefined);
      const path = (request.url ?? '/').split('?')[0];
      if (!options.servesPath(path)) return refuse(socket, '404 Not Found');
      if (!originAllowed(request, options.corsOrigins)) {
        options.log.warn({ origin: request.headers.origin }, 'WebSocket refused: origin not in CORS_ORIGINS');
        return refuse(socket, '403 Forbidden');
      }
      sockets.handleUpgrade(request, socket, head, (ws) => sockets.emit('connection', ws, request));
    };
    httpServer.on('upgrade', onUpgrade);
    return new SubscriptionServer(sockets, () => httpServer.off('upgrade', onUpgrade));
  }

  /** How many clients are connected. */
  get clientCount(): number {
    return this.sockets.clients.size;
  }

  /** Takes no new client, closes every one with 1001 (going away), and cuts off those that do not answer. */
  async stop(): Promise<void> {
    this.detach();
    for (const client of this.sockets.clients) client.close(GOING_AWAY, 'server stopping');
    const cutOff = setTimeout(() => {
      for (const client of this.sockets.clients) client.terminate();
    }, CLOSE_GRACE_MS);
    // Called once the last client has closed.
    await new Promise<void>((resolve) => this.sockets.close(() => resolve()));
    clearTimeout(cutOff);
  }
}

function serve(socket: WebSocket, request: IncomingMessage, protocol: Server<ConnectionExtra>, log: Logger): void {
  // ws reports a broken frame or an oversized message here, then closes the socket itself.
  socket.on('error', (error) => log.warn({ failure: error.message }, 'WebSocket client error'));
  let answered = true;
  socket.on('pong', () => (answered = true));
  const keepAlive = setInterval(() => {
    if (!answered) return socket.terminate();
    answered = false;
    socket.ping();
  }, KEEPALIVE_MS);
  const closed = protocol.opened(
    {
      protocol: socket.protocol,
      // A send to a socket closing meanwhile is dropped: its close event ends the subscriptions.
      send: (data) => new Promise<void>((resolve) => (socket.readyState === socket.OPEN ? socket.send(data, () => resolve()) : resolve())),
      close: (code, reason) => socket.close(code, reason),
      onMessage: (handle) =>
        socket.on('message', (data) => {
          handle(text(data)).catch((error: unknown) => {
            log.error({ err: error }, 'subscription message failed');
            socket.close(CloseCode.InternalServerError, 'Internal server error');
          });
        }),
    },
    { request },
  );
  socket.once('close', (code, reason) => {
    clearInterval(keepAlive);
    // Returns every subscription's event stream, which unsubscribes it.
    closed(code, String(reason)).catch((error: unknown) => log.error({ err: error }, 'subscription cleanup failed'));
  });
}

/**
 * CORS for sockets: browsers do not apply CORS to WebSocket, so the server checks the Origin
 * itself. Clients other than browsers send none; a page of this server's own origin needs no CORS.
 */
function originAllowed(request: IncomingMessage, allowed: '*' | string[]): boolean {
  const origin = request.headers.origin;
  if (origin === undefined || allowed === '*' || allowed.includes(origin)) return true;
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}

/** A message as text (ws hands a server Buffers; a fragmented one as several). */
function text(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return (Buffer.isBuffer(data) ? data : Buffer.from(data)).toString('utf8');
}

function refuse(socket: Duplex, status: string): void {
  socket.once('finish', () => socket.destroy());
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
