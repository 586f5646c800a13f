import { useState } from 'react';
import { api } from '../../api';
import { useLive } from '../../live';
import { Link } from '../../router';
import { ErrorNote, ago } from '../../ui/bits';
import { useData } from '../../use-data';
import { RolloutFailures } from './rollout-failures';
import { RolloutProgress } from './rollout-progress';

export function Rollout({ id }: { id: string }) {
  const rollout = useData(() => api('GET /api/v1/rollouts/:id', { params: { id } }), [id]);
  const failed = useData(() => api('GET /api/v1/rollouts/:id/devices', { params: { id }, query: { state: 'failed', limit: 50 } }), [id]);
  useLive(
    (e) => e.type === 'rollout' && e.id === id,
    () => {
      rollout.reload();
      failed.reload();
    },
  );
  const [error, setError] = useState<string>();
  const r = rollout.data;
  if (rollout.error) return <ErrorNote error={rollout.error} />;
  if (!r) return <p>Loading…</p>;
  const command = async (c: 'pause' | 'resume' | 'advance' | 'abort' | 'rollback') => {
    setError(undefined);
    try {
      await api(`POST /api/v1/rollouts/:id/${c}`, { params: { id } });
      rollout.reload();
      failed.reload();
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const active = ['running', 'waiting', 'paused'].includes(r.status);
  return (
    <section>
      <h2>
        {r.name}{' '}
        <span className={`status status-${r.status}`} data-testid="rollout-status">
          {r.status}
        </span>
      </h2>
      {r.statusReason && (
        <p
          className={r.status === 'aborted' || r.status === 'rolled-back' || r.status === 'paused' ? 'error' : 'sub'}
          data-testid="rollout-reason"
        >
          {r.statusReason}
        </p>
      )}
      <p className="sub">
        release <Link to={`/releases/${r.releaseId}`}>{r.releaseId.slice(0, 8)}</Link> · advance {r.advance} · by {r.createdBy}{' '}
        {ago(r.createdAt)}
      </p>
      <div className="actions">
        <button onClick={() => command('pause')} disabled={r.status !== 'running' && r.status !== 'waiting'}>
          Pause
        </button>
        <button
          onClick={() => command('resume')}
          disabled={r.status !== 'paused'}
          title="Carry on with this phase, accepting the failures so far"
        >
          Resume
        </button>
        {r.advance === 'manual' && (
          <button onClick={() => command('advance')} disabled={r.status !== 'waiting'}>
            Next phase
          </button>
        )}
        <button onClick={() => command('abort')} disabled={!active}>
          Abort
        </button>
        <button
          onClick={() => window.confirm('Move every device of this rollout back to its previous release?') && command('rollback')}
          disabled={r.status === 'rolled-back'}
        >
          Roll back all
        </button>
      </div>
      {error && <p className="error">{error}</p>}
      <div className="card">
        <h3>Total</h3>
        <RolloutProgress counts={r.totals} testId="rollout-total" />
        {r.phases.map((p) => (
          <div key={p.index} className={`phase ${p.index === r.currentPhase && active ? 'current' : ''}`} data-testid={`phase-${p.index}`}>
            <div>
              <b>
                {p.index + 1}. {p.name}
              </b>{' '}
              <span className="sub">
                success ≥ {p.successThreshold}% · failures ≤ {p.failureThreshold}% · then {p.onFailure}
              </span>
            </div>
            <RolloutProgress counts={p.progress} />
          </div>
        ))}
      </div>
      <RolloutFailures rollout={r} failed={failed.data} />
    </section>
  );
}
