import { Injectable } from '@nestjs/common';
import type { MetricFamily } from '../health/prometheus';

/** The last pass of this replica that assigned devices of a rollout (not one that only told a few again): when it began and how long its parts took. */
export interface Fanout {
  /** When the pass began (ms since the epoch). */
  startedAt: number;
  devices: number;
  /** Transactions (segments) their assignments were written in. */
  batches: number;
  /** From the pass' start: the first and the last segment committed, every desired state handed to the broker. */
  firstCommittedMs: number;
  lastCommittedMs: number;
  handedMs: number;
}

/**
 * Where a rollout's fan-out spends its time, for /metrics (process lifetime): an operator sees how
 * long the last one took to commit and to hand to the broker, and control-plane/bench/rollout.bench.ts
 * splits "received by all" with it.
 */
@Injectable()
export class FanoutStats {
  private last: Fanout | undefined;

  record(fanout: Fanout): void {
    this.last = fanout;
  }

  families(): MetricFamily[] {
    const last = this.last;
    if (!last) return [];
    return [
      {
        name: 'flotilla_rollout_last_fanout_started_seconds',
        help: "When this replica's last rollout pass that assigned devices a new desired state began (unix time).",
        type: 'gauge',
        samples: [{ value: last.startedAt / 1000 }],
      },
      {
        name: 'flotilla_rollout_last_fanout_devices',
        help: 'Devices told in that pass.',
        type: 'gauge',
        samples: [{ value: last.devices }],
      },
      {
        name: 'flotilla_rollout_last_fanout_seconds',
        help: 'Time from the start of that pass until its first and last assignment segment committed, and until every desired state was handed to the broker.',
        type: 'gauge',
        samples: [
          { labels: { until: 'first-committed' }, value: last.firstCommittedMs / 1000 },
          { labels: { until: 'last-committed' }, value: last.lastCommittedMs / 1000 },
          { labels: { until: 'handed-to-broker' }, value: last.handedMs / 1000 },
        ],
      },
    ];
  }
}
