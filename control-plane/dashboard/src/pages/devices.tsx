import { useEffect, useState } from 'react';
import type { DashboardDeviceQuery, FleetView, ReleaseView } from '@flotilla/shared';
import { api } from '../api';
import { catalog } from '../catalog';
import { useLive } from '../live';
import { Link, navigate, useLocation } from '../router';
import { ErrorNote, ago, deviceStatus } from '../ui/bits';
import { useData } from '../use-data';
import { DeviceText } from '../ui/device-text';

const PAGE = 50;
const FILTERS = ['q', 'fleetId', 'tag', 'status', 'releaseId', 'sort', 'offset'] as const;

/**
 * One page of devices at a time, searched, filtered and sorted by the server, so the list costs
 * the same at 10 devices and at 10,000. The filters live in the URL: a filtered list is a link.
 */
export function Devices() {
  const { search } = useLocation();
  const f = Object.fromEntries(FILTERS.map((k) => [k, search.get(k) ?? ''])) as Record<(typeof FILTERS)[number], string>;
  const offset = Number(f.offset || 0);
  const sort = f.sort || 'name';
  const [q, setQ] = useState(f.q);
  const [fleets, setFleets] = useState<FleetView[]>([]);
  const [releases, setReleases] = useState<ReleaseView[]>([]);
  useEffect(() => {
    void catalog.fleets().then(setFleets, () => undefined);
    void catalog.releases().then(setReleases, () => undefined);
  }, []);

  const set = (changes: Partial<Record<(typeof FILTERS)[number], string>>) => {
    const next = new URLSearchParams(search);
    for (const [k, v] of Object.entries(changes)) {
      if (v) next.set(k, v);
      else next.delete(k);
    }
    if (!('offset' in changes)) next.delete('offset');
    const s = next.toString();
    window.history.replaceState(null, '', `/devices${s ? `?${s}` : ''}`);
    window.dispatchEvent(new PopStateEvent('popstate'));
  };
  // Search as one types, once typing pauses.
  useEffect(() => {
    if (q === f.q) return;
    const t = setTimeout(() => set({ q }), 200);
    return () => clearTimeout(t);
  });

  const page = useData(
    () =>
      api('GET /api/v1/dashboard/devices', {
        // The URL's filters as they stand; the API refuses one edited into nonsense (400).
        query: {
          q: f.q,
          fleetId: f.fleetId,
          tag: f.tag,
          status: f.status as DashboardDeviceQuery['status'],
          releaseId: f.releaseId,
          sort: sort as DashboardDeviceQuery['sort'],
          limit: PAGE,
          offset,
        },
      }),
    [search.toString()],
  );
  // At most one re-read a second: with thousands of devices something changes all the time.
  useLive((e) => e.type === 'device', page.reload, 1000);

  const sortBy = (col: string) => set({ sort: sort === col ? `-${col}` : col });
  const arrow = (col: string) => (sort === col ? ' ▲' : sort === `-${col}` ? ' ▼' : '');
  const total = page.data?.total ?? 0;
  return (
    <section>
      <h2>
        Devices{' '}
        <span className="count" data-testid="device-total">
          {page.data ? total.toLocaleString('en') : '…'}
        </span>
      </h2>
      <div className="filters">
        <input type="search" placeholder="Search name or id" aria-label="Search devices" value={q} onChange={(e) => setQ(e.target.value)} />
        <select aria-label="Fleet" value={f.fleetId} onChange={(e) => set({ fleetId: e.target.value })}>
          <option value="">All fleets</option>
          {fleets.map((x) => (
            <option key={x.id} value={x.id}>
              {x.name}
            </option>
          ))}
        </select>
        <select aria-label="Status" value={f.status} onChange={(e) => set({ status: e.target.value })}>
          <option value="">Any status</option>
          {['online', 'offline', 'updating', 'failed', 'decommissioned'].map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
        <select aria-label="Release" value={f.releaseId} onChange={(e) => set({ releaseId: e.target.value })}>
          <option value="">Any release</option>
          {releases.map((r) => (
            <option key={r.id} value={r.id}>
              {r.name} {r.version}
            </option>
          ))}
        </select>
        <input
          aria-label="Tag"
          placeholder="tag"
          defaultValue={f.tag}
          onKeyDown={(e) => e.key === 'Enter' && set({ tag: e.currentTarget.value.trim() })}
        />
      </div>
      <ErrorNote error={page.error} />
      <table className={`devices ${page.loading ? 'loading' : ''}`} data-testid="device-table">
        <thead>
          <tr>
            <th onClick={() => sortBy('name')}>Name{arrow('name')}</th>
            <th>Status</th>
            <th>Release</th>
            <th>Board</th>
            <th>Tags</th>
            <th onClick={() => sortBy('-lastSeen')}>Last seen{arrow('lastSeen')}</th>
          </tr>
        </thead>
        <tbody>
          {page.data?.items.map((d) => {
            const status = deviceStatus(d);
            return (
              <tr key={d.id} onClick={() => navigate(`/devices/${d.id}`)} data-device={d.name}>
                <td>
                  <Link to={`/devices/${d.id}`}>
                    <DeviceText>{d.name}</DeviceText>
                  </Link>
                  <div className="sub">{d.id}</div>
                </td>
                <td>
                  <span className={`dot dot-${status}`} /> {status}
                  {d.updatePhase && d.updatePhase !== 'idle' && status !== 'failed' ? ` · ${d.updatePhase}` : ''}
                </td>
                <td>
                  <DeviceText>{d.releaseVersion ?? (d.releaseId ? d.releaseId.slice(0, 8) : '—')}</DeviceText>
                </td>
                <td>
                  <DeviceText>{d.board ?? '—'}</DeviceText>
                </td>
                <td>
                  {d.tags.map((t) => (
                    <span key={t} className="tag">
                      {t}
                    </span>
                  ))}
                </td>
                <td>{ago(d.lastSeenAt)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {page.data?.items.length === 0 && <p className="empty">No device matches.</p>}
      <div className="pager">
        <button disabled={offset === 0} onClick={() => set({ offset: String(Math.max(0, offset - PAGE)) })}>
          ← Previous
        </button>
        <span>
          {total === 0 ? 0 : offset + 1}–{Math.min(offset + PAGE, total)} of {total.toLocaleString('en')}
        </span>
        <button disabled={offset + PAGE >= total} onClick={() => set({ offset: String(offset + PAGE) })}>
          Next →
        </button>
      </div>
    </section>
  );
}
