import { withoutSuggestions } from './query-limits';
import { unwrapResolverError } from '@apollo/server/errors';
import type { GraphQLFormattedError } from 'graphql';
import type { ValidationError } from 'class-validator';
import { ErrorCode, isExpectedError, type FieldProblem } from '../errors/error-code';
import type { Logger } from '../logger';

/** Codes Apollo Server itself gives to malformed requests; they are safe to show. */
const APOLLO_REQUEST_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
]);

/**
 * Shapes every error a client sees. Expected errors keep their code and message; validation
 * errors become one BAD_USER_INPUT naming each field and rule; anything else is logged and
 * masked as INTERNAL_SERVER_ERROR, so no SQL, host or password can reach a client.
 */
export function createFormatError(log: Logger, production: boolean) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    const validation = (original as { extensions?: { validationErrors?: ValidationError[] } })?.extensions?.validationErrors;
    if (Array.isArray(validation)) {
      const problems = flatten(validation);
      return {
        message: `Invalid input: ${problems.map((p) => `${p.field}: ${p.rules.join('; ')}`).join(' | ')}`,
        locations: formatted.locations,
        path: formatted.path,
        extensions: { code: ErrorCode.BadUserInput, fields: problems },
      };
    }
    // Apollo's own refusals of a request (a persisted query whose hash does not match, say) carry
    // an HTTP 4xx but no code: the client sent something wrong, so it is told, not masked.
    const uncoded = [undefined, ErrorCode.InternalServerError].includes(formatted.extensions?.code as ErrorCode | undefined);
    if (original === error && formatted.path === undefined && uncoded && isClientHttpError(original)) {
      return { message: formatted.message, extensions: { code: 'BAD_REQUEST' } };
    }
    const code = formatted.extensions?.code;
    if (isExpectedError(original) || (original === error && APOLLO_REQUEST_CODES.has(String(code)))) {
      // graphql-armor words its limits "Syntax Error: ..."; the document parsed fine, it asks too much.
      const message = code === 'GRAPHQL_VALIDATION_FAILED' ? formatted.message.replace(/^Syntax Error: /, '') : formatted.message;
      if (!production) return { ...formatted, message };
      const { stacktrace: _stacktrace, ...extensions } = formatted.extensions ?? {};
      return { ...formatted, message: withoutSuggestions(message), extensions };
    }
    log.error({ err: original, path: formatted.path }, 'unexpected error');
    return {
      message: 'Internal server error',
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: ErrorCode.InternalServerError },
    };
  };
}

function flatten(errors: ValidationError[], prefix = ''): FieldProblem[] {
  return errors.flatMap((error) => {
    const field = /^\d+$/.test(error.property) ? `${prefix}[${error.property}]` : prefix ? `${prefix}.${error.property}` : error.property;
    const own = error.constraints ? [{ field, rules: Object.values(error.constraints) }] : [];
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

function isClientHttpError(error: unknown): boolean {
  const status = (error as { extensions?: { http?: { status?: number } } } | undefined)?.extensions?.http?.status;
  return typeof status === 'number' && status >= 400 && status < 500;
}
