/** Plots as inline SVG: a line chart and a progress bar need no chart library. */
import { DeviceText, deviceKey } from './device-text';

export interface Series {
  label: string;
  color: string;
  points: { t: number; v: number | null }[];
  unit: string;
  max?: number;
}

export function LineChart({ series, height = 120 }: { series: Series; height?: number }) {
  const width = 480;
  const pts = series.points.filter((p): p is { t: number; v: number } => p.v !== null);
  const last = pts.at(-1)?.v;
  if (pts.length === 0) {
    return (
      <figure className="chart">
        <figcaption>{series.label}</figcaption>
        <div className="empty">no samples yet</div>
      </figure>
    );
  }
  const t0 = pts[0]!.t;
  const t1 = Math.max(pts.at(-1)!.t, t0 + 1);
  const max = series.max ?? Math.max(1, ...pts.map((p) => p.v)) * 1.1;
  const x = (t: number) => ((t - t0) / (t1 - t0)) * width;
  const y = (v: number) => height - (v / max) * (height - 4) - 2;
  const d = pts.map((p, i) => `${i ? 'L' : 'M'}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(' ');
  return (
    <figure className="chart" data-testid={`chart-${series.label}`}>
      <figcaption>
        {series.label} <b>{last === undefined ? '–' : `${fmt(last)} ${series.unit}`}</b>
      </figcaption>
      <svg viewBox={`0 0 ${width} ${height}`} preserveAspectRatio="none" role="img" aria-label={series.label}>
        <path d={`${d} L${x(pts.at(-1)!.t).toFixed(1)},${height} L0,${height} Z`} fill={series.color} opacity="0.12" />
        <path d={d} fill="none" stroke={series.color} strokeWidth="2" vectorEffect="non-scaling-stroke" />
        {pts.length === 1 && <circle cx={x(pts[0]!.t)} cy={y(pts[0]!.v)} r="3" fill={series.color} />}
      </svg>
    </figure>
  );
}

function fmt(v: number): string {
  return v >= 100 ? v.toFixed(0) : v.toFixed(1);
}

export interface Segment {
  value: number;
  className: string;
  label: string;
}

/** A stacked bar: succeeded / failed / updating out of a total. */
export function ProgressBar({ total, segments, testId }: { total: number; segments: Segment[]; testId?: string }) {
  const done = segments.reduce((n, s) => n + s.value, 0);
  return (
    <div
      className="progress"
      role="progressbar"
      aria-valuemin={0}
      aria-valuemax={total}
      aria-valuenow={done}
      data-testid={testId}
      title={segments.map((s) => `${s.label}: ${s.value}`).join(', ')}
    >
      {segments.map((s) =>
        s.value > 0 ? <span key={s.label} className={s.className} style={{ width: `${(100 * s.value) / Math.max(total, 1)}%` }} /> : null,
      )}
    </div>
  );
}

/** Horizontal bars, largest first: the spread of releases. */
export function BarList({ rows }: { rows: { label: string; value: number }[] }) {
  const max = Math.max(1, ...rows.map((r) => r.value));
  return (
    <ul className="barlist">
      {rows.map((r, i) => (
        // Labels repeat: devices report release ids, and two unknown ones may share their first characters.
        <li key={deviceKey(i, r.label)}>
          <span className="barlist-label">
            <DeviceText>{r.label}</DeviceText>
          </span>
          <span className="barlist-bar">
            <span style={{ width: `${(100 * r.value) / max}%` }} />
          </span>
          <span className="barlist-value">{r.value}</span>
        </li>
      ))}
    </ul>
  );
}
