import {
  GraphQLError,
  OperationTypeNode,
  getOperationAST,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type GraphQLFormattedError,
} from 'graphql';
import type { GraphQLSchema, ValidationRule } from 'graphql';
import type { IncomingMessage } from 'node:http';
import type { ServerOptions } from 'graphql-ws';
import { ErrorCode, userError } from '../errors/error-code';
import type { AppContext } from './context';
import { QUERY_LIMITS, withoutSuggestions } from './query-limits';

/** What graphql-ws keeps per connection besides its own state: the upgrade request. */

/** Subscriptions one graphql-ws connection may hold at once (clusterEvents needs one). */
export const MAX_SUBSCRIPTIONS_PER_SOCKET = 16;

export interface ConnectionExtra {
  request: IncomingMessage;
}

export interface OperationOptions {
  schema: GraphQLSchema;
  /** The limit rules queries are validated with (queryLimits' validationRules), run after GraphQL's own. */
  validationRules: readonly ValidationRule[];
  /** Hides field suggestions, as queryLimits does for queries. */
  production: boolean;
  /** The context of one operation, from the credential the connection carries. */
  context: (authorization: string | undefined) => AppContext;
  /** The same formatError as Apollo's: expected errors shown, anything else logged and masked. */
  formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
}

/**
 * graphql-ws's options for syncrep: a document is parsed with the same token limit and validated
 * with the same rules as a query over HTTP, and errors get the same codes (GRAPHQL_PARSE_FAILED,
 * GRAPHQL_VALIDATION_FAILED) and the same formatting. Only subscriptions are served: queries and
 * mutations go over HTTP, where the replication extension and every plugin see them.
 */
export function subscriptionOptions(options: OperationOptions): ServerOptions<Record<string, unknown> | undefined, ConnectionExtra> {
  const rules = [...specifiedRules, ...options.validationRules];
  const format = (errors: readonly GraphQLError[]): GraphQLFormattedError[] =>
    errors.map((error) => {
      const formatted = options.formatError(error.toJSON(), error);
      return options.production ? { ...formatted, message: withoutSuggestions(formatted.message) } : formatted;
    });
  return {
    schema: options.schema,
    onSubscribe: (ctx, _id, payload) => {
      // Each subscription is a listener every cluster event fans out to: one socket gets a few.
      // graphql-ws has reserved this one's id in ctx.subscriptions before asking.
      if (Object.keys(ctx.subscriptions).length > MAX_SUBSCRIPTIONS_PER_SOCKET) {
        return [
          userError(ErrorCode.BadRequest, `at most ${MAX_SUBSCRIPTIONS_PER_SOCKET} subscriptions per connection: complete one first`),
        ];
      }
      let document: DocumentNode;
      try {
        document = parse(payload.query, { maxTokens: QUERY_LIMITS.tokens });
      } catch (error) {
        if (error instanceof GraphQLError) return [coded(error, 'GRAPHQL_PARSE_FAILED')];
        throw error;
      }
      const invalid = validate(options.schema, document, rules);
      if (invalid.length > 0) return invalid.map((error) => coded(error, 'GRAPHQL_VALIDATION_FAILED'));
      const operation = getOperationAST(document, payload.operationName);
      if (!operation) return [userError(ErrorCode.BadRequest, 'the document has no single operation to run: name one (operationName)')];
      if (operation.operation !== OperationTypeNode.SUBSCRIPTION) {
        return [
          userError(
            ErrorCode.BadRequest,
            `only subscriptions are served over WebSocket: send a ${operation.operation} over HTTP POST to this same URL`,
          ),
        ];
      }
      return {
        schema: options.schema,
        document,
        operationName: payload.operationName,
        variableValues: payload.variables,
        contextValue: options.context(authorization(ctx.connectionParams, ctx.extra.request)),
      };
    },
    onError: (_ctx, _id, _payload, errors) => format(errors),
    onNext: (_ctx, _id, _payload, _args, result) => (result.errors ? { ...result, errors: format(result.errors) } : undefined),
  };
}

/**
 * The admin credential of a connection: `authorization` in its connection params, in any case
 * (browsers cannot set a socket's headers; Apollo Sandbox sends its Headers tab there), else the
 * upgrade request's Authorization header.
 */
function authorization(params: Record<string, unknown> | undefined, request: IncomingMessage): string | undefined {
  const key = Object.keys(params ?? {}).find((name) => name.toLowerCase() === 'authorization');
  const sent = key === undefined ? undefined : params?.[key];
  return typeof sent === 'string' ? sent : request.headers.authorization;
}

/** `error` with the code Apollo gives the same failure over HTTP. */
function coded(error: GraphQLError, code: string): GraphQLError {
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    extensions: { ...error.extensions, code },
  });
}
