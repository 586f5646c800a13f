/** Distinct source addresses remembered per interval; the rest are counted together. */
const MAX_ADDRESSES = 1000;

/**
 * Refused MQTT connections and logins, summed for one log line per interval instead of a line
 * each: a flood of bad logins must not become a flood of log lines. Pure.
 */
export class RefusalSummary {
  private readonly reasons = new Map<string, { n: number; detail?: string }>();
  private readonly addresses = new Map<string, number>();
  private total = 0;

  /** `detail` (e.g. a database error) is kept, the last one per reason, for the line. */
  add(reason: string, address: string, detail?: string): void {
    this.total++;
    const r = this.reasons.get(reason) ?? { n: 0 };
    r.n++;
    if (detail !== undefined) r.detail = detail;
    this.reasons.set(reason, r);
    const key = this.addresses.has(address) || this.addresses.size < MAX_ADDRESSES ? address : 'other addresses';
    this.addresses.set(key, (this.addresses.get(key) ?? 0) + 1);
  }

  /** The line for what was added since the last call, or undefined when nothing was. */
  take(intervalMs: number): string | undefined {
    if (this.total === 0) return undefined;
    const reasons = [...this.reasons]
      .sort((a, b) => b[1].n - a[1].n)
      .map(([reason, r]) => `${reason} ${r.n}${r.detail === undefined ? '' : ` (last: ${r.detail})`}`);
    const top = [...this.addresses]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([a, n]) => `${a} (${n})`);
    const line = `refused ${this.total} MQTT connections, logins or publishes in the last ${Math.round(intervalMs / 1000)} s: ${reasons.join(', ')}; most from ${top.join(', ')}`;
    this.reasons.clear();
    this.addresses.clear();
    this.total = 0;
    return line;
  }
}
