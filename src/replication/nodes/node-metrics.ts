import { Counter, Gauge, type Registry } from 'prom-client';
import type { Roster } from './cluster';
import { NODE_STATE_NAMES } from './node-state';

/**
 * Each node's state as this server sees it, read when metrics are collected: one series per
 * node and state, 1 for the current one, so an alert can watch `state!="IN_SYNC"` followers.
 * Also the followers' positions and lags (`syncrep_follower_lag_positions`, `_seconds`), from
 * what the health monitor last measured.
 */
export function registerNodeMetrics(registry: Registry, cluster: Roster): void {
  new Gauge({
    name: 'syncrep_node_state',
    help: 'Node state as this server sees it: 1 for the current state of each node, 0 for the others',
    labelNames: ['node', 'role', 'state'],
    registers: [registry],
    collect() {
      for (const node of cluster.nodes) {
        for (const state of NODE_STATE_NAMES) this.set({ node: node.name, role: node.role, state }, node.state.kind === state ? 1 : 0);
      }
    },
  });
  new Counter({
    name: 'syncrep_node_transitions_total',
    help: 'State changes of each node as this server saw them, by the state left and the state entered',
    labelNames: ['node', 'from', 'to'],
    registers: [registry],
    collect() {
      // The nodes keep the counts (see transitions.ts); a scrape copies them.
      this.reset();
      for (const node of cluster.nodes) {
        for (const [move, count] of node.transitions) {
          const [from, to] = move.split('->');
          this.inc({ node: node.name, from, to }, count);
        }
      }
    },
  });
  new Gauge({
    name: 'syncrep_follower_applied_position',
    help: 'Highest replication position this server knows the follower has applied',
    labelNames: ['node'],
    registers: [registry],
    collect() {
      for (const node of cluster.nodes) if (node.role === 'FOLLOWER') this.set({ node: node.name }, Number(node.appliedPosition));
    },
  });
  // Lags as the health monitor last measured them (each round that reaches the leader): a scrape asks no node.
  new Gauge({
    name: 'syncrep_follower_lag_positions',
    help: "Committed positions above the follower's highest applied one that it lacked at the last health round that reached the leader",
    labelNames: ['node'],
    registers: [registry],
    collect() {
      this.reset();
      for (const node of cluster.followers) if (node.lag) this.set({ node: node.name }, node.lag.positions);
    },
  });
  new Gauge({
    name: 'syncrep_follower_lag_seconds',
    help: 'How long ago the leader committed the oldest write the follower lacked, at the last health round that reached the leader',
    labelNames: ['node'],
    registers: [registry],
    collect() {
      this.reset();
      for (const node of cluster.followers) if (node.lag) this.set({ node: node.name }, node.lag.ms / 1000);
    },
  });
}
