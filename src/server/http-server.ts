import { expressMiddleware } from '@as-integrations/express5';
import type { ApolloServer } from '@apollo/server';
import cors from 'cors';
import express, { type ErrorRequestHandler, type Request } from 'express';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HttpSettings } from '../config/settings';
import type { Logger } from '../logger';
import type { Readiness } from '../replication/replication-service';
import type { AppContext } from './context';

export interface HttpOptions {
  port: number;
  host: string;
  http: HttpSettings;
  context: (req: Request) => AppContext;
  readiness: () => Readiness;
  log: Logger;
}

/**
 * One HTTP server for everything a client or a probe asks: GraphQL at `/` (CORS for the configured
 * origins, JSON bodies up to the configured limit), `GET /healthz` (the process is
 * up) and `GET /readyz` (200 when this server can take writes in its sync mode, 503 with the
 * reasons otherwise), the last two answered from what the health monitor knows, without waiting
 * on a node. Create it before the ApolloServer, which needs it for its drain plugin.
 */
export function createHttpServer(): { httpServer: http.Server; app: express.Express } {
  const app = express();
  app.disable('x-powered-by');
  return { httpServer: http.createServer(app), app };
}

/** Mounts the routes on `app` (after `server.start()`), listens, and returns the GraphQL URL. */
export async function listen(
  { httpServer, app }: ReturnType<typeof createHttpServer>,
  server: ApolloServer<AppContext>,
  options: HttpOptions,
): Promise<string> {
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', (_req, res) => {
    const readiness = options.readiness();
    res.status(readiness.ready ? 200 : 503).json(readiness);
  });
  app.use(
    '/',
    cors({ origin: options.http.corsOrigins }),
    express.json({ limit: options.http.bodyLimitBytes }),
    expressMiddleware(server, { context: ({ req }) => Promise.resolve(options.context(req)) }),
  );
  // A body that is not JSON, too large, or cut off: a client error, logged as one line.
  const onError: ErrorRequestHandler = (error: { status?: number; type?: string; message?: string }, _req, res, _next) => {
    const status = typeof error.status === 'number' && error.status >= 400 && error.status < 500 ? error.status : 500;
    options.log.warn({ status, type: error.type, failure: error.message }, 'request refused before GraphQL');
    res.status(status).json({ errors: [{ message: status === 500 ? 'Internal server error' : (error.message ?? 'bad request') }] });
  };
  app.use(onError);
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
