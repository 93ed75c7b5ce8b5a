import { HeaderMap, type ApolloServer, type HTTPGraphQLRequest } from '@apollo/server';
import bodyParser from 'body-parser';
import cors from 'cors';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HttpSettings } from '../config/settings';
import type { Logger } from '../logger';
import type { Readiness } from '../replication/replication-service';
import type { AppContext } from './context';

export interface HttpOptions {
  port: number;
  host: string;
  http: HttpSettings;
  context: (req: IncomingMessage) => AppContext;
  readiness: () => Readiness;
  log: Logger;
}

/** Paths the probes answer (GET); GraphQL, over HTTP and over WebSocket, answers every other one. */
export const PROBE_PATHS: readonly string[] = ['/healthz', '/readyz'];

/** A request body, once the JSON parser has read it. */
type ParsedRequest = IncomingMessage & { body?: unknown };
type Step = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

/**
 * One HTTP server for everything a client or a probe asks: GraphQL (CORS for the configured
 * origins, JSON bodies up to the configured limit), `GET /healthz` (the process is up) and
 * `GET /readyz` (200 when this server can take writes in its sync mode, 503 with the reasons),
 * both answered from what the health monitor knows, without waiting on a node. A plain Node
 * server, as Apollo's standalone one (cors and a JSON body parser in front of
 * executeHTTPGraphQLRequest): Express's routing cost reads about half their throughput in the bench.
 * Create it before the ApolloServer, which needs it for its drain plugin; `listen` after start().
 */
export function createHttpServer(): { httpServer: http.Server; handle: { request?: (req: IncomingMessage, res: ServerResponse) => void } } {
  const handle: { request?: (req: IncomingMessage, res: ServerResponse) => void } = {};
  // Timeouts are checked every second (Node's default is every 30 s, which let a slow-header client hold a connection 30 s).
  const httpServer = http.createServer({ connectionsCheckingInterval: 1000 }, (req, res) => {
    if (handle.request) handle.request(req, res);
    else sendJson(res, 503, { errors: [{ message: 'starting' }] });
  });
  return { httpServer, handle };
}

/** Routes requests to the probes and to `server`, listens, and returns the GraphQL URL. */
export async function listen(
  { httpServer, handle }: ReturnType<typeof createHttpServer>,
  server: ApolloServer<AppContext>,
  options: HttpOptions,
): Promise<string> {
  const corsStep: Step = cors({ origin: options.http.corsOrigins });
  const jsonStep: Step = bodyParser.json({ limit: options.http.bodyLimitBytes });
  // A body that is not JSON, too large, or cut off: a client error, logged as one line.
  const fail = (res: ServerResponse, error: unknown) => {
    const { status, type, message } = error as { status?: number; type?: string; message?: string };
    const code = typeof status === 'number' && status >= 400 && status < 500 ? status : 500;
    options.log.warn({ status: code, type, failure: message }, 'request refused before GraphQL');
    sendJson(res, code, { errors: [{ message: code === 500 ? 'Internal server error' : (message ?? 'bad request') }] });
  };
  handle.request = (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const probe = req.method === 'GET' || req.method === 'HEAD';
    if (probe && path === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (probe && path === '/readyz') {
      const readiness = options.readiness();
      return sendJson(res, readiness.ready ? 200 : 503, readiness);
    }
    // A body declared larger than the limit is refused before any of it is parsed or kept: it is
    // drained, chunk by chunk, so that the client (which sends it all before it reads an answer)
    // gets the 413 rather than a reset connection.
    if (Number(req.headers['content-length'] ?? 0) > options.http.bodyLimitBytes) {
      req.resume();
      return fail(res, { status: 413, type: 'entity.too.large', message: 'request entity too large' });
    }
    corsStep(req, res, (corsError) => {
      if (corsError) return fail(res, corsError);
      jsonStep(req, res, (jsonError) => {
        if (jsonError) return fail(res, jsonError);
        graphql(server, req, res, options).catch((error: unknown) => fail(res, error));
      });
    });
  };
  // A client gets this long to send its request; a slow body is not held open for minutes.
  httpServer.requestTimeout = options.http.requestTimeoutMs;
  httpServer.headersTimeout = Math.min(options.http.requestTimeoutMs, 10_000);
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(options.port, options.host, () => {
      httpServer.off('error', reject);
      resolve();
    });
  });
  const { address, port } = httpServer.address() as AddressInfo;
  const hostname = address === '' || address === '::' ? 'localhost' : address;
  return `http://${hostname}:${port}/`;
}

async function graphql(server: ApolloServer<AppContext>, req: ParsedRequest, res: ServerResponse, options: HttpOptions): Promise<void> {
  const headers = new HeaderMap();
  for (const [key, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
  }
  const httpGraphQLRequest: HTTPGraphQLRequest = {
    method: (req.method ?? 'GET').toUpperCase(),
    headers,
    search: new URL(req.url ?? '/', 'http://localhost').search,
    body: req.body,
  };
  const response = await server.executeHTTPGraphQLRequest({ httpGraphQLRequest, context: () => Promise.resolve(options.context(req)) });
  for (const [key, value] of response.headers) res.setHeader(key, value);
  res.statusCode = response.status ?? 200;
  if (response.body.kind === 'complete') {
    res.end(response.body.string);
    return;
  }
  for await (const chunk of response.body.asyncIterator) res.write(chunk);
  res.end();
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.end(JSON.stringify(body));
}
