/** Prometheus text exposition format (version 0.0.4): one family per metric, labels escaped. */
export interface MetricFamily {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  samples: { labels?: Record<string, string>; value: number }[];
}

export function renderPrometheus(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  for (const f of families) {
    lines.push(`# HELP ${f.name} ${f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`);
    lines.push(`# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) lines.push(`${f.name}${labels(s.labels)} ${Number.isFinite(s.value) ? s.value : 'NaN'}`);
  }
  return `${lines.join('\n')}\n`;
}

function labels(l: Record<string, string> | undefined): string {
  const entries = Object.entries(l ?? {});
  if (entries.length === 0) return '';
  const escape = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
  return `{${entries.map(([k, v]) => `${k}="${escape(v)}"`).join(',')}}`;
}
