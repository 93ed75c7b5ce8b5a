import { Gauge, type Registry } from 'prom-client';
import type { ClusterNode } from '../replication/cluster-node';

const STATES = ['UP', 'IN_SYNC', 'CATCHING_UP', 'OUT_OF_SYNC', 'NEEDS_RESYNC', 'DIVERGED', 'DOWN'] as const;
/** Fails to compile when a node state is added without a series here. */
const everyStateListed: Exclude<ClusterNode['state']['kind'], (typeof STATES)[number]> extends never ? true : never = true;
void everyStateListed;

/**
 * Each node's state as this server sees it, read when metrics are collected: one series per
 * node and state, 1 for the current one, so an alert can watch `state!="IN_SYNC"` followers.
 */
export function registerNodeMetrics(registry: Registry, nodes: readonly ClusterNode[]): void {
  new Gauge({
    name: 'syncrep_node_state',
    help: 'Node state as this server sees it: 1 for the current state of each node, 0 for the others',
    labelNames: ['node', 'role', 'state'],
    registers: [registry],
    collect() {
      for (const node of nodes) {
        for (const state of STATES) this.set({ node: node.name, role: node.role, state }, node.state.kind === state ? 1 : 0);
      }
    },
  });
  new Gauge({
    name: 'syncrep_follower_applied_position',
    help: 'Highest replication position this server knows the follower has applied',
    labelNames: ['node'],
    registers: [registry],
    collect() {
      for (const node of nodes) if (node.role === 'FOLLOWER') this.set({ node: node.name }, Number(node.appliedPosition));
    },
  });
}
