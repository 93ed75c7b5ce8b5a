import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError, OperationTypeNode } from 'graphql';
import { ErrorCode } from '../errors/error-code';
import type { AppContext } from './context';

/** What a client that POSTs a subscription is told. */
export const SUBSCRIPTION_OVER_HTTP =
  'subscriptions are served over WebSocket, not HTTP: connect a graphql-ws client (protocol graphql-transport-ws) to this same URL ' +
  'with ws:// (wss:// behind TLS); in Apollo Sandbox, set the subscription URL to it';

/**
 * Refuses a subscription operation sent over HTTP with a 400 BAD_REQUEST that says where
 * subscriptions are served. Without it, graphql-js would run the subscription's resolver once
 * without an event, and the client would get a masked INTERNAL_SERVER_ERROR logged with a stack.
 * (A GET is refused earlier by Apollo itself: GET serves queries only.)
 */
export function subscriptionOverHttpPlugin(): ApolloServerPlugin<AppContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation }) {
          if (operation?.operation !== OperationTypeNode.SUBSCRIPTION) return;
          throw new GraphQLError(SUBSCRIPTION_OVER_HTTP, { extensions: { code: ErrorCode.BadRequest, http: { status: 400 } } });
        },
      };
    },
  };
}
