import { ApolloArmor } from '@escape.tech/graphql-armor';
import type { ApolloServerPlugin } from '@apollo/server';
import type { ValidationRule } from 'graphql';
import { BATCH_MAX } from '../employee/employee.args';

/** Limits on what one GraphQL document may ask for, by graphql-armor (checked before any resolver runs). */
export const QUERY_LIMITS = {
  /** `employees` already caps a page; aliases would multiply it. */
  aliases: 15,
  depth: 10,
  /** graphql-armor's cost, which multiplies a field by its `first`: two full `employees` pages fit. */
  cost: 15_000,
  /** Room for a createEmployees of BATCH_MAX rows written inline rather than as a variable. */
  tokens: BATCH_MAX * 16,
} as const;

/** Validation rules and plugins that enforce QUERY_LIMITS; field suggestions are hidden in production. */
export function queryLimits(production: boolean): { plugins: ApolloServerPlugin[]; validationRules: ValidationRule[] } {
  const { plugins, validationRules } = new ApolloArmor({
    maxAliases: { n: QUERY_LIMITS.aliases },
    maxDepth: { n: QUERY_LIMITS.depth },
    costLimit: { maxCost: QUERY_LIMITS.cost },
    maxTokens: { n: QUERY_LIMITS.tokens },
    blockFieldSuggestion: { enabled: production },
  }).protect();
  return { plugins, validationRules };
}

/**
 * A message with graphql-js's suggestions hidden ("Did you mean "x"?", and the enum-value and
 * inline-fragment forms graphql-armor's own pattern misses): in production they would describe the
 * schema that introspection is off to hide. Used on every transport (format-error.ts, graphql-ws).
 */
export function withoutSuggestions(message: string): string {
  return (
    message
      .replace(/Did you mean (the enum value |to use an inline fragment on )?".+"\?/g, '[Suggestion hidden]')
      // graphql-armor's own mask leaves the question's "?" behind it.
      .replace(/\[Suggestion hidden\]\?/g, '[Suggestion hidden]')
      .trim()
  );
}
