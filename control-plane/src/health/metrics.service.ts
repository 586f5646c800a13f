import { Inject, Injectable } from '@nestjs/common';
import { ROLLOUT_STATUSES } from '@flotilla/shared';
import { brokerFamilies } from '../broker/broker-metrics';
import { DEVICE_BROKER, type DeviceBroker } from '../broker/device-broker';
import { UplinkStats } from '../broker/uplink-stats';
import { RejectedWrites } from '../database/rejected-writes';
import { ScheduledJobs } from '../database/scheduled-jobs';
import { DevicesService } from '../devices/devices.service';
import { LimitStats } from '../limits/limit-stats';
import { FanoutStats } from '../rollouts/fanout-stats';
import { RolloutViewRepository } from '../rollouts/rollout-views.repository';
import { TelemetryIngest } from '../telemetry/telemetry-ingest';
import { HttpMetrics } from './http-metrics';
import { renderPrometheus, type MetricFamily } from './prometheus';

/** The `/metrics` families. Gauges that need the database are read at scrape time. */
@Injectable()
export class MetricsService {
  constructor(
    private readonly devices: DevicesService,
    private readonly uplink: UplinkStats,
    private readonly rollouts: RolloutViewRepository,
    private readonly telemetry: TelemetryIngest,
    private readonly http: HttpMetrics,
    private readonly limits: LimitStats,
    private readonly rejected: RejectedWrites,
    private readonly jobs: ScheduledJobs,
    @Inject(DEVICE_BROKER) private readonly broker: DeviceBroker,
    private readonly fanouts: FanoutStats,
  ) {}

  async render(): Promise<string> {
    const [online, byStatus] = await Promise.all([
      this.devices.countOnline().catch(() => Number.NaN),
      this.rollouts.countByStatus().catch(() => ({}) as Record<string, number>),
    ]);
    const uplink = this.uplink.snapshot();
    const t = this.telemetry.stats;
    const families: MetricFamily[] = [
      { name: 'flotilla_devices_online', help: 'Devices connected to the broker now.', type: 'gauge', samples: [{ value: online }] },
      {
        name: 'flotilla_uplink_messages_dropped_total',
        help: 'Device messages the broker edge dropped, by reason (rejected: invalid; failed: handling failed; rateLimited, oversized, …).',
        type: 'counter',
        samples: Object.entries(uplink).map(([reason, value]) => ({ labels: { reason }, value })),
      },
      {
        name: 'flotilla_uplink_answers_held_total',
        help: 'Device answers (reported, events) held while a fan-out of desired states published, then handled; and the releases that handed them on.',
        type: 'counter',
        samples: Object.entries(this.uplink.heldSnapshot()).map(([what, value]) => ({ labels: { what }, value })),
      },
      {
        name: 'flotilla_rollouts',
        help: 'Rollouts by status.',
        type: 'gauge',
        samples: ROLLOUT_STATUSES.map((status) => ({ labels: { status }, value: byStatus[status] ?? 0 })),
      },
      {
        name: 'flotilla_telemetry_samples_total',
        help: 'Telemetry samples received, stored and dropped by the batch writer (overflow: dropped on arrival, too many waiting; duplicate: already stored, sent again by a device or redelivered by the broker, and skipped).',
        type: 'counter',
        samples: [
          { labels: { outcome: 'received' }, value: t.received },
          { labels: { outcome: 'stored' }, value: t.stored },
          { labels: { outcome: 'dropped' }, value: t.dropped },
          { labels: { outcome: 'overflow' }, value: t.overflow },
          { labels: { outcome: 'duplicate' }, value: t.duplicates },
        ],
      },
      {
        name: 'flotilla_telemetry_write_retries_total',
        help: 'Telemetry batch writes retried after a transient database error (deadlock, lost connection, pool timeout).',
        type: 'counter',
        samples: [{ value: t.retries }],
      },
      {
        name: 'flotilla_device_rows_rejected_total',
        help: 'Rows of a device that the database refused alone and that were dropped while the rest of their batch was stored, by device and kind.',
        type: 'counter',
        samples: this.rejected.snapshot().map((r) => ({ labels: { device: r.deviceId, kind: r.kind }, value: r.count })),
      },
      {
        name: 'flotilla_device_rows_refused_total',
        help: 'Rows of devices dropped whole because the database refused every write (reason disk_full: 53100; read_only: 25006), by kind.',
        type: 'counter',
        samples: this.rejected.refusedSnapshot().map((r) => ({ labels: { kind: r.kind, reason: r.reason }, value: r.count })),
      },
      {
        name: 'flotilla_http_requests_total',
        help: 'HTTP requests by method, route and status.',
        type: 'counter',
        samples: this.http.snapshot().map((r) => ({ labels: { method: r.method, route: r.route, status: r.status }, value: r.count })),
      },
      {
        name: 'flotilla_scheduled_job_checks_total',
        help: 'Checks of this replica whether a timed job was due, by job and outcome (ran: this replica ran it; not-due: not due, or another replica runs it).',
        type: 'counter',
        samples: this.jobs.snapshot().map((c) => ({ labels: { job: c.job, outcome: c.outcome }, value: c.count })),
      },
      ...this.limits.families(),
      ...this.fanouts.families(),
      ...brokerFamilies(this.broker.status()),
    ];
    return renderPrometheus(families);
  }
}
