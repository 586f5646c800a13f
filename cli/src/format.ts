/** Terminal output: aligned tables, progress bars, relative times. Pure, so tested without a TTY. */

export function table(headers: string[], rows: (string | number | null | undefined)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => (c === null || c === undefined ? '-' : String(c))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : (c ?? '').padEnd(widths[i]!))).join('  ')).join('\n');
}

/** `[#####!!!~~~.......]`: succeeded, failed, updating, pending, in a fixed width. */
export function progressBar(counts: { devices: number; succeeded: number; failed: number; updating: number }, width = 30): string {
  const total = Math.max(counts.devices, 1);
  const cols = (n: number) => Math.round((n / total) * width);
  const ok = cols(counts.succeeded);
  const failed = Math.min(cols(counts.failed), width - ok);
  const updating = Math.min(cols(counts.updating), width - ok - failed);
  return `[${'#'.repeat(ok)}${'!'.repeat(failed)}${'~'.repeat(updating)}${'.'.repeat(width - ok - failed - updating)}]`;
}

export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return 'never';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

export interface RolloutLike {
  name: string;
  status: string;
  statusReason: string | null;
  currentPhase: number;
  totals: Counts;
  phases: {
    index: number;
    name: string;
    progress: Counts;
  }[];
  /** Absent from servers older than explicit acceptance. */
  acceptances?: { acceptedBy: string; acceptedAt: string; count: number; deviceIds: string[] }[];
}

type Counts = {
  devices: number;
  pending: number;
  updating: number;
  succeeded: number;
  failed: number;
  accepted?: number;
  waiting?: number;
};

const counts = (c: Counts) =>
  `${c.succeeded}/${c.devices} ok${c.failed ? `, ${c.failed} failed` : ''}${c.accepted ? ` (${c.accepted} accepted)` : ''}${c.updating ? `, ${c.updating} updating` : ''}${c.waiting ? ` (${c.waiting} waiting for a lock)` : ''}`;

/** The lines `rollouts watch` draws (and redraws in place on a terminal). */
export function rolloutLines(r: RolloutLike): string[] {
  const lines = [`${r.name}  ${r.status}${r.statusReason ? ` - ${r.statusReason}` : ''}`];
  for (const p of r.phases) {
    const mark = p.index === r.currentPhase && ['running', 'waiting', 'paused'].includes(r.status) ? '>' : ' ';
    lines.push(`${mark} ${`${p.index + 1}. ${p.name}`.padEnd(18)} ${progressBar(p.progress)} ${counts(p.progress)}`);
  }
  lines.push(`  ${'total'.padEnd(18)} ${progressBar(r.totals)} ${counts(r.totals)}`);
  for (const a of r.acceptances ?? []) {
    const shown = a.deviceIds.join(', ') + (a.count > a.deviceIds.length ? `, … (${a.count - a.deviceIds.length} more)` : '');
    lines.push(`  accepted ${a.count} failure(s) by ${a.acceptedBy} ${ago(a.acceptedAt)}: ${shown}`);
  }
  return lines;
}

/** One line per change when the output is not a terminal (logs, CI). */
export function rolloutLine(r: RolloutLike): string {
  return `${r.status} phase ${Math.min(r.currentPhase + 1, r.phases.length)}/${r.phases.length} ${counts(r.totals)}${r.statusReason ? ` - ${r.statusReason}` : ''}`;
}

/** Lines of `next` not already printed: the new tail of a polled log. */
export function newLogLines(printed: readonly string[], next: readonly string[]): string[] {
  if (printed.length === 0) return [...next];
  // Find the longest suffix of what was printed that is a prefix of the new window.
  for (let k = Math.min(printed.length, next.length); k > 0; k--) {
    let same = true;
    for (let i = 0; i < k && same; i++) same = printed[printed.length - k + i] === next[i];
    if (same) return next.slice(k);
  }
  return [...next];
}

/**
 * Characters a terminal acts on rather than shows: C0 controls but tab and newline, DEL, C1
 * controls (U+009B is a CSI on some terminals), and the bidirectional overrides and isolates.
 */
// eslint-disable-next-line no-control-regex -- control characters are exactly what is looked for
const TERMINAL_CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/**
 * `text` as a terminal should receive it: every control it would act on written out as `\u001b`
 * and the like. Names, failures and logs come from devices, which must not be able to move the
 * cursor, clear the screen, retitle the window or reverse the operator's text.
 */
export function terminalSafe(text: string): string {
  return text.replace(TERMINAL_CONTROLS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
