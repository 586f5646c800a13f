import { api } from '../api';
import { useLive } from '../live';
import { Link } from '../router';
import { BarList } from '../ui/charts';
import { ErrorNote } from '../ui/bits';
import { useData } from '../use-data';
import { RolloutProgress } from './rollouts/rollout-progress';

export function Overview() {
  const overview = useData(() => api('GET /api/v1/dashboard/overview'), []);
  const active = useData(async () => {
    const all = await api('GET /api/v1/rollouts', { query: { limit: 20 } });
    return all.items.filter((r) => ['running', 'waiting', 'paused'].includes(r.status) || Date.now() - Date.parse(r.updatedAt) < 3600_000);
  }, []);
  useLive((e) => e.type === 'device', overview.reload);
  useLive((e) => e.type === 'rollout', active.reload);
  const d = overview.data?.devices;
  return (
    <section>
      <h2>Fleet overview</h2>
      <ErrorNote error={overview.error} />
      <div className="stats">
        <Stat label="Devices" value={d?.total} to="/devices" />
        <Stat label="Online" value={d?.online} kind="online" to="/devices?status=online" />
        <Stat label="Offline" value={d?.offline} kind="offline" to="/devices?status=offline" />
        <Stat label="Updating" value={d?.updating} kind="updating" to="/devices?status=updating" />
        <Stat label="Failed" value={d?.failed} kind="failed" to="/devices?status=failed" />
      </div>
      <div className="grid2">
        <div className="card">
          <h3>Releases running</h3>
          {overview.data && overview.data.releases.length === 0 && <p className="empty">No devices yet.</p>}
          <BarList rows={(overview.data?.releases ?? []).map((r) => ({ label: r.label, value: r.devices }))} />
        </div>
        <div className="card">
          <h3>Rollouts</h3>
          {active.data?.length === 0 && <p className="empty">No rollout in progress.</p>}
          {active.data?.map((r) => (
            <div key={r.id} className="rollout-mini">
              <Link to={`/rollouts/${r.id}`}>{r.name}</Link> <span className={`status status-${r.status}`}>{r.status}</span>
              <RolloutProgress counts={r.totals} />
            </div>
          ))}
        </div>
      </div>
    </section>
  );
}

function Stat({ label, value, kind, to }: { label: string; value: number | undefined; kind?: string; to: string }) {
  return (
    <Link to={to} className={`stat ${kind ? `stat-${kind}` : ''}`}>
      <span className="stat-value" data-testid={`stat-${label.toLowerCase()}`}>
        {value ?? '…'}
      </span>
      <span className="stat-label">{label}</span>
    </Link>
  );
}
