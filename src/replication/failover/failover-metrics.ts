import { Counter, Gauge, type Registry } from 'prom-client';
import type { Cluster } from '../nodes/cluster';
import type { PromotionResult } from './promoter';

/** The cluster's epoch and the promotions this server ran; returns what the promoter calls after each. */
export function registerFailoverMetrics(registry: Registry, cluster: Cluster): (result: PromotionResult) => void {
  new Gauge({
    name: 'syncrep_cluster_epoch',
    help: 'The epoch this server writes in (it grows by one with each promotion)',
    registers: [registry],
    collect() {
      this.set(Number(cluster.epoch));
    },
  });
  const promotions = new Counter({
    name: 'syncrep_promotions_total',
    help: 'Promotions this server ran, by whether allowDataLoss relaxed a safety rule',
    labelNames: ['data_loss_allowed'],
    registers: [registry],
  });
  return (result) => promotions.inc({ data_loss_allowed: String(result.possiblyLost.length > 0) });
}
