import { Injectable } from '@nestjs/common';
import type { MetricFamily } from '../health/prometheus';

/** The `/metrics` counter families of the limits, with their help text. */
export const LIMIT_COUNTERS = {
  quotaDropped: {
    name: 'flotilla_uplink_quota_dropped_total',
    help: 'Device messages dropped over their per-minute quota, by channel and by the quota exceeded (messages or bytes).',
  },
  clockSkew: {
    name: 'flotilla_uplink_clock_skew_total',
    help:
      'Device timestamps outside the clock window, by channel and action (telemetry samples dropped; events stored at server time; ' +
      "reports older than the stored one by the device's clock dropped).",
  },
  connectionsRefused: {
    name: 'flotilla_mqtt_connections_refused_total',
    help: 'MQTT connections closed before a login, by reason (per-address connection cap).',
  },
  loginsRefused: {
    name: 'flotilla_mqtt_logins_refused_total',
    help: 'MQTT logins refused, by reason; throttled, unknown-id-cached, malformed and no-credentials cost no database query.',
  },
  publishesRefused: {
    name: 'flotilla_mqtt_publishes_refused_total',
    help: 'Device publishes refused (the device is disconnected, MQTT 3.1.1 having no negative acknowledgement), by reason.',
  },
  subscriptionsRefused: {
    name: 'flotilla_mqtt_subscriptions_refused_total',
    help: 'Device subscriptions refused (SUBACK 0x80, the device stays connected), by reason.',
  },
  queuedDropped: {
    name: 'flotilla_mqtt_queued_dropped_total',
    help: 'QoS 1 messages not kept for a device that already had its maximum waiting (offline, or not acknowledging).',
  },
  httpConnectionsRefused: {
    name: 'flotilla_http_connections_refused_total',
    help: 'HTTP and HTTPS connections closed at once, their address holding the most it may (maxConnectionsPerAddress).',
  },
  sendStalled: {
    name: 'flotilla_send_stalled_total',
    help:
      'Connections closed for taking nothing of what waited to be sent to them for a minute (a client that stopped reading), ' +
      'by listener (http: HTTP, HTTPS and MQTT over WebSocket; mqtt: MQTT and MQTT over TLS).',
  },
  controlPacketsRefused: {
    name: 'flotilla_mqtt_control_packet_floods_total',
    help: 'MQTT connections closed for sending PINGREQ, SUBSCRIBE or UNSUBSCRIBE packets beyond their budget, or too large ones.',
  },
  eventsDropped: {
    name: 'flotilla_device_events_dropped_total',
    help:
      'Device events dropped unstored, taken while as many waited for the database as the bound allows, by bound (device, total). ' +
      'The embedded broker refuses a device\'s next event at a bound instead (flotilla_mqtt_publishes_refused_total{reason="events-waiting-…"}): the device keeps it.',
  },
  eventsPruned: {
    name: 'flotilla_device_events_pruned_total',
    help: 'Device events deleted, by reason (cap: beyond the per-device cap; age: older than the retention).',
  },
} as const;

export type LimitCounter = keyof typeof LIMIT_COUNTERS;

/** Counters of what the limits refused or changed (process lifetime, not persisted). */
@Injectable()
export class LimitStats {
  private readonly counts = new Map<LimitCounter, Map<string, { labels: Record<string, string>; value: number }>>();

  count(counter: LimitCounter, labels: Record<string, string>, n = 1): void {
    if (n === 0) return;
    const family = this.counts.get(counter) ?? new Map<string, { labels: Record<string, string>; value: number }>();
    this.counts.set(counter, family);
    const key = JSON.stringify(labels);
    const sample = family.get(key) ?? { labels, value: 0 };
    sample.value += n;
    family.set(key, sample);
  }

  /** The total of one counter over the samples whose labels include `labels`. */
  total(counter: LimitCounter, labels: Record<string, string> = {}): number {
    let sum = 0;
    for (const s of this.counts.get(counter)?.values() ?? []) {
      if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) sum += s.value;
    }
    return sum;
  }

  families(): MetricFamily[] {
    return (Object.keys(LIMIT_COUNTERS) as LimitCounter[]).map((counter) => ({
      ...LIMIT_COUNTERS[counter],
      type: 'counter' as const,
      samples: [...(this.counts.get(counter)?.values() ?? [])].map((s) => ({ labels: s.labels, value: s.value })),
    }));
  }
}
