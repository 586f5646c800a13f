/** The samples of `name` in `/metrics` text (Prometheus exposition) whose labels include `labels`. */
export function metricSamples(text: string, name: string, labels: Record<string, string> = {}): number[] {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const found: number[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labelText = line.startsWith(`${name}{`) ? line.slice(name.length + 1, line.indexOf('}')) : '';
    if (wanted.every((w) => labelText.split(',').includes(w))) found.push(Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return found;
}

/** Their sum: 0 when no sample matches (a counter not yet incremented). */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  return metricSamples(text, name, labels).reduce((a, b) => a + b, 0);
}
