import type { ApolloServerPlugin } from '@apollo/server';
import type { AppContext } from './context';

/**
 * Adds `extensions.replication.servedBy` to every response: the node that answered the reads
 * (an array when several did), the leader for a mutation that reached it, null when no node was
 * asked (a mutation refused for its input, say).
 */
export function replicationExtensionPlugin(): ApolloServerPlugin<AppContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response, contextValue }) {
          if (response.body.kind !== 'single') return;
          const served = [...contextValue.servedBy];
          const servedBy = served.length === 0 ? null : served.length === 1 ? served[0] : served;
          const result = response.body.singleResult;
          result.extensions = { ...result.extensions, replication: { servedBy } };
        },
      };
    },
  };
}
