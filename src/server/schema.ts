import type { GraphQLSchema } from 'graphql';
import { buildSchema, type ContainerType } from 'type-graphql';
import { AdminResolver } from '../cluster-api/admin.resolver';
import { FailoverResolver } from '../cluster-api/failover.resolver';
import { ClusterResolver } from '../cluster-api/nodes.resolver';
import { EmployeeResolver } from '../employee/employee.resolver';

const resolvers = [EmployeeResolver, ClusterResolver, AdminResolver, FailoverResolver] as const;

/**
 * Builds the GraphQL schema from the decorated classes, with class-validator on. Validation
 * errors leave out `target` and `value`, so no error ever echoes the client's whole input back.
 */
export function buildAppSchema(container?: ContainerType): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers,
    container,
    validate: { forbidUnknownValues: false, validationError: { target: false, value: false } },
  });
}
