import { z } from 'zod';

/** `GET /api/v1/devices/:id/telemetry?from&to&step`: samples averaged per `step` bucket. */
export const TELEMETRY_METRICS = ['cpuPercent', 'memUsedBytes', 'memTotalBytes', 'temperatureC'] as const;

export const TelemetryQuery = z.object({
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  /** Bucket width in seconds; without it, raw samples (at most `limit`). */
  step: z.coerce.number().int().min(1).max(86_400).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(1000),
});
export type TelemetryQuery = z.infer<typeof TelemetryQuery>;

export const TelemetryPoint = z.object({
  at: z.string(),
  cpuPercent: z.number(),
  memUsedBytes: z.number(),
  memTotalBytes: z.number(),
  temperatureC: z.number().nullable(),
  /** How many samples the point averages (1 for raw samples). */
  samples: z.number().int(),
});
export type TelemetryPoint = z.infer<typeof TelemetryPoint>;

export const TelemetrySeries = z.object({
  deviceId: z.string(),
  from: z.string(),
  to: z.string(),
  step: z.number().int().nullable(),
  latest: TelemetryPoint.nullable(),
  points: z.array(TelemetryPoint),
});
export type TelemetrySeries = z.infer<typeof TelemetrySeries>;
