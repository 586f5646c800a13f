import type { TelemetryPoint } from '@flotilla/shared';
import { LineChart } from '../../ui/charts';

/** The device's CPU, memory and temperature over the telemetry window. */
export function TelemetryCharts({ points }: { points: TelemetryPoint[] }) {
  return (
    <div className="grid3">
      <LineChart
        series={{
          label: 'CPU',
          unit: '%',
          color: '#2563eb',
          max: 100,
          points: points.map((p) => ({ t: Date.parse(p.at), v: p.cpuPercent })),
        }}
      />
      <LineChart
        series={{
          label: 'Memory',
          unit: 'MiB',
          color: '#7c3aed',
          max: (points.at(-1)?.memTotalBytes ?? 0) / 2 ** 20 || undefined,
          points: points.map((p) => ({ t: Date.parse(p.at), v: p.memUsedBytes / 2 ** 20 })),
        }}
      />
      <LineChart
        series={{
          label: 'Temperature',
          unit: '°C',
          color: '#dc2626',
          points: points.map((p) => ({ t: Date.parse(p.at), v: p.temperatureC })),
        }}
      />
    </div>
  );
}
