import type { ReactNode } from 'react';

export function Badge({ kind, children }: { kind: string; children: ReactNode }) {
  return <span className={`badge badge-${kind}`}>{children}</span>;
}

export function ErrorNote({ error }: { error: Error | undefined }) {
  return error ? (
    <p className="error" role="alert">
      {error.message}
    </p>
  ) : null;
}

export function ago(iso: string | null): string {
  if (!iso) return 'never';
  const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
  if (s < 5) return 'just now';
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

/** One word for a device's state, the same everywhere. */
export function deviceStatus(d: { online: boolean; updatePhase: string | null; failed?: boolean; decommissioned?: boolean }): string {
  if (d.decommissioned) return 'decommissioned';
  if (d.updatePhase === 'rollback' || d.failed) return 'failed';
  if (d.online && d.updatePhase && d.updatePhase !== 'idle') return 'updating';
  return d.online ? 'online' : 'offline';
}
