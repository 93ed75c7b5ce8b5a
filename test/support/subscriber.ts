import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { waitFor } from './wait';

/** The ws:// URL of a server's GraphQL endpoint (same host, port and path as its http:// URL). */
export function wsUrl(httpUrl: string): string {
  return httpUrl.replace(/^http/, 'ws');
}

/** One subscription of a real graphql-ws client, with everything it received. */
export interface Subscriber {
  client: Client;
  results: { data?: Record<string, any> | null; errors?: { message: string; extensions?: Record<string, any> }[] }[];
  /** The errors the subscription ended with (graphql-ws `error` message), if it did. */
  errors: { message: string; extensions?: Record<string, any> }[] | undefined;
  /** Close code of the socket, once closed. */
  closeCode: number | undefined;
  completed: boolean;
  /** Ends this subscription (graphql-ws `complete`) but keeps the socket. */
  unsubscribe: () => void;
}

/**
 * Opens a graphql-ws client on `httpUrl` (connection params `params`) and starts `query`;
 * resolves once the server acknowledged the connection. No retries: a closed socket stays closed.
 */
export async function subscribe(httpUrl: string, query: string, params: Record<string, unknown> = {}): Promise<Subscriber> {
  let acknowledged = false;
  const subscriber: Subscriber = {
    client: createClient({
      url: wsUrl(httpUrl),
      webSocketImpl: WebSocket,
      connectionParams: params,
      retryAttempts: 0,
      on: {
        connected: () => (acknowledged = true),
        closed: (event) => (subscriber.closeCode = (event as { code: number }).code),
      },
    }),
    results: [],
    errors: undefined,
    closeCode: undefined,
    completed: false,
    unsubscribe: () => undefined,
  };
  subscriber.unsubscribe = subscriber.client.subscribe(
    { query },
    {
      next: (result) => subscriber.results.push(result as Subscriber['results'][number]),
      error: (error) => (subscriber.errors = Array.isArray(error) ? error : [{ message: String(error) }]),
      complete: () => (subscriber.completed = true),
    },
  );
  await waitFor(async () => acknowledged || subscriber.closeCode !== undefined, 'the connection acknowledged');
  return subscriber;
}

/** Waits for the first result `match` accepts, and returns its data field `field`. */
export async function nextMatching<T = Record<string, any>>(
  subscriber: Subscriber,
  field: string,
  match: (value: T) => boolean,
  what: string,
): Promise<T> {
  let found: T | undefined;
  await waitFor(async () => {
    found = subscriber.results.map((r) => r.data?.[field] as T).find((value) => value !== undefined && match(value));
    return found !== undefined;
  }, what);
  return found!;
}
