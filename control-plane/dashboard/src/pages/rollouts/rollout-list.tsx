import { api } from '../../api';
import { useLive } from '../../live';
import { Link } from '../../router';
import { ErrorNote, ago } from '../../ui/bits';
import { useData } from '../../use-data';
import { RolloutProgress } from './rollout-progress';

export function Rollouts() {
  const list = useData(() => api('GET /api/v1/rollouts', { query: { limit: 100 } }), []);
  useLive((e) => e.type === 'rollout', list.reload);
  return (
    <section>
      <h2>
        Rollouts{' '}
        <Link to="/rollouts/new" className="button">
          New rollout
        </Link>
      </h2>
      <ErrorNote error={list.error} />
      <table data-testid="rollout-table">
        <thead>
          <tr>
            <th>Name</th>
            <th>Status</th>
            <th>Progress</th>
            <th>Phase</th>
            <th>Started</th>
          </tr>
        </thead>
        <tbody>
          {list.data?.items.map((r) => (
            <tr key={r.id}>
              <td>
                <Link to={`/rollouts/${r.id}`}>{r.name}</Link>
              </td>
              <td>
                <span className={`status status-${r.status}`}>{r.status}</span>
              </td>
              <td style={{ minWidth: 220 }}>
                <RolloutProgress counts={r.totals} />
              </td>
              <td>
                {Math.min(r.currentPhase + 1, r.phases.length)}/{r.phases.length}
              </td>
              <td>{ago(r.createdAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {list.data?.items.length === 0 && <p className="empty">No rollouts yet.</p>}
    </section>
  );
}
