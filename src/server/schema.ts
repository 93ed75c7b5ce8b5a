import type { GraphQLSchema } from 'graphql';
import { buildSchema, type ContainerType, type PubSub } from 'type-graphql';
import { AdminResolver } from '../cluster-api/admin.resolver';
import { ClusterEventsResolver } from '../cluster-api/cluster-events.resolver';
import { FailoverResolver } from '../cluster-api/failover.resolver';
import { ClusterResolver } from '../cluster-api/nodes.resolver';
import { DepartmentResolver } from '../department/department.resolver';
import { EmployeeResolver } from '../employee/employee.resolver';
import { validateArgument } from '../validation/validate-argument';

const resolvers = [EmployeeResolver, DepartmentResolver, ClusterResolver, AdminResolver, FailoverResolver, ClusterEventsResolver] as const;

/**
 * type-graphql refuses to build subscriptions without a PubSub, even when each one brings its own
 * event source (`subscribe`), as clusterEvents does: this one is never asked for anything.
 */
const noPubSub: PubSub = {
  publish: () => {
    throw new Error('no PubSub: subscriptions bring their own event source');
  },
  subscribe: () => {
    throw new Error('no PubSub: subscriptions bring their own event source');
  },
};

/**
 * Builds the GraphQL schema from the decorated classes, every argument checked by class-validator
 * (validate-argument.ts). Validation errors leave out `target` and `value`, so no error ever
 * echoes the client's whole input back.
 */
export function buildAppSchema(container?: ContainerType): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers,
    container,
    pubSub: noPubSub,
    validateFn: validateArgument,
  });
}
