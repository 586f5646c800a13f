import type { MetricFamily } from '../health/prometheus';
import type { BrokerStatus } from './device-broker';

/** The broker's families on /metrics: whether this replica has its broker, and (external mode) the cluster as it sees it. */
export function brokerFamilies(status: BrokerStatus): MetricFamily[] {
  const families: MetricFamily[] = [
    {
      name: 'flotilla_broker_up',
      help: "1 when this replica's broker works (embedded: listening; external: connected and consuming, a majority of nodes running).",
      type: 'gauge',
      samples: [{ labels: { mode: status.mode }, value: status.up ? 1 : 0 }],
    },
  ];
  if (status.reconnects !== undefined) {
    families.push({
      name: 'flotilla_broker_reconnects_total',
      help: 'Times this replica re-established its connection to the external broker.',
      type: 'counter',
      samples: [{ value: status.reconnects }],
    });
  }
  if (status.nodes) {
    families.push({
      name: 'flotilla_broker_node_running',
      help: "The external broker cluster's nodes, 1 when running (from its management API).",
      type: 'gauge',
      samples: status.nodes.map((n) => ({ labels: { node: n.name }, value: n.running ? 1 : 0 })),
    });
  }
  return families;
}
