import { useEffect, useState } from 'react';
import type { FleetView, ReleaseView, RolloutCounts, RolloutPlan } from '@flotilla/shared';
import { api, ApiFailure, type Issue } from '../api';
import { catalog } from '../catalog';
import { useLive } from '../live';
import { Link, navigate, useLocation } from '../router';
import { ProgressBar } from '../ui/charts';
import { ErrorNote, ago, bytes } from '../ui/bits';
import { useData } from '../use-data';
import { RolloutFailures } from './rollout-failures';

export function RolloutProgress({ counts, testId }: { counts: RolloutCounts; testId?: string }) {
  return (
    <div className="rollout-progress">
      <ProgressBar
        total={counts.devices}
        testId={testId}
        segments={[
          { value: counts.succeeded, className: 'seg-ok', label: 'succeeded' },
          { value: counts.failed, className: 'seg-failed', label: 'failed' },
          { value: counts.updating, className: 'seg-updating', label: 'updating' },
        ]}
      />
      <span className="sub">
        {counts.succeeded}/{counts.devices} done{counts.failed ? `, ${counts.failed} failed` : ''}
        {counts.accepted ? ` (${counts.accepted} accepted)` : ''}
        {counts.updating ? `, ${counts.updating} updating` : ''}
        {counts.waiting ? ` (${counts.waiting} waiting for an update lock)` : ''}
      </span>
    </div>
  );
}

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

interface PhaseDraft {
  name: string;
  size: 'count' | 'percent';
  amount: string;
  successThreshold: string;
  failureThreshold: string;
  onFailure: 'pause' | 'abort';
}

const DEFAULT_PHASES: PhaseDraft[] = [
  { name: 'canary', size: 'count', amount: '1', successThreshold: '100', failureThreshold: '0', onFailure: 'abort' },
  { name: 'everyone', size: 'percent', amount: '100', successThreshold: '95', failureThreshold: '5', onFailure: 'pause' },
];

export function NewRollout() {
  const { search } = useLocation();
  const [fleets, setFleets] = useState<FleetView[]>([]);
  const [releases, setReleases] = useState<ReleaseView[]>([]);
  const [releaseId, setReleaseId] = useState(search.get('releaseId') ?? '');
  const [name, setName] = useState('');
  const [fleetId, setFleetId] = useState('');
  const [tags, setTags] = useState('');
  const [deviceIds, setDeviceIds] = useState('');
  const [phases, setPhases] = useState<PhaseDraft[]>(DEFAULT_PHASES);
  const [advance, setAdvance] = useState<'auto' | 'manual'>('auto');
  const [timeout, setTimeoutS] = useState('1800');
  const [plan, setPlan] = useState<RolloutPlan>();
  const [error, setError] = useState<{ message: string; issues: Issue[] }>();
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    void catalog.fleets(true).then(setFleets, () => undefined);
    void catalog.releases(true).then(setReleases, () => undefined);
  }, []);

  const request = () => ({
    releaseId,
    ...(name.trim() ? { name: name.trim() } : {}),
    selection: {
      ...(fleetId ? { fleetId } : {}),
      ...(tags.trim() ? { tags: split(tags) } : {}),
      ...(deviceIds.trim() ? { deviceIds: split(deviceIds) } : {}),
    },
    phases: phases.map((p) => ({
      ...(p.name.trim() ? { name: p.name.trim() } : {}),
      [p.size]: Number(p.amount),
      successThreshold: Number(p.successThreshold),
      failureThreshold: Number(p.failureThreshold),
      onFailure: p.onFailure,
    })),
    advance,
    deviceTimeoutSeconds: Number(timeout),
  });
  const act = async (what: 'plan' | 'start') => {
    setBusy(true);
    setError(undefined);
    try {
      if (what === 'plan') setPlan(await api('POST /api/v1/rollouts/plan', { body: request() }));
      else navigate(`/rollouts/${(await api('POST /api/v1/rollouts', { body: request() })).id}`);
    } catch (e) {
      setError({ message: (e as Error).message, issues: e instanceof ApiFailure ? e.issues : [] });
    } finally {
      setBusy(false);
    }
  };
  const edit = (i: number, change: Partial<PhaseDraft>) => {
    setPlan(undefined);
    setPhases(phases.map((p, n) => (n === i ? { ...p, ...change } : p)));
  };
  const touched =
    <T,>(set: (v: T) => void) =>
    (v: T) => {
      setPlan(undefined);
      set(v);
    };
  return (
    <section>
      <h2>New rollout</h2>
      <div className="card form">
        <label>
          Release
          <select aria-label="Release" value={releaseId} onChange={(e) => touched(setReleaseId)(e.target.value)}>
            <option value="">choose…</option>
            {releases.map((r) => (
              <option key={r.id} value={r.id}>
                {r.name} {r.version}
              </option>
            ))}
          </select>
        </label>
        <label>
          Name
          <input aria-label="Rollout name" value={name} onChange={(e) => setName(e.target.value)} placeholder="optional" />
        </label>
        <fieldset>
          <legend>Selection (criteria combine with AND)</legend>
          <label>
            Fleet
            <select aria-label="Selection fleet" value={fleetId} onChange={(e) => touched(setFleetId)(e.target.value)}>
              <option value="">any</option>
              {fleets.map((f) => (
                <option key={f.id} value={f.id}>
                  {f.name} ({f.deviceCount})
                </option>
              ))}
            </select>
          </label>
          <label>
            Tags
            <input aria-label="Selection tags" value={tags} onChange={(e) => touched(setTags)(e.target.value)} placeholder="lab, eu" />
          </label>
          <label>
            Device ids
            <input
              aria-label="Selection devices"
              value={deviceIds}
              onChange={(e) => touched(setDeviceIds)(e.target.value)}
              placeholder="comma separated"
            />
          </label>
        </fieldset>
        <fieldset>
          <legend>Phases</legend>
          <table className="phases">
            <thead>
              <tr>
                <th>Name</th>
                <th>Size</th>
                <th>Success ≥ %</th>
                <th>Failures ≤ %</th>
                <th>On failure</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {phases.map((p, i) => (
                <tr key={i}>
                  <td>
                    <input aria-label={`Phase ${i + 1} name`} value={p.name} onChange={(e) => edit(i, { name: e.target.value })} />
                  </td>
                  <td>
                    <input
                      aria-label={`Phase ${i + 1} size`}
                      className="num"
                      value={p.amount}
                      onChange={(e) => edit(i, { amount: e.target.value })}
                    />
                    <select value={p.size} onChange={(e) => edit(i, { size: e.target.value as PhaseDraft['size'] })}>
                      <option value="count">devices</option>
                      <option value="percent">% of all</option>
                    </select>
                  </td>
                  <td>
                    <input className="num" value={p.successThreshold} onChange={(e) => edit(i, { successThreshold: e.target.value })} />
                  </td>
                  <td>
                    <input className="num" value={p.failureThreshold} onChange={(e) => edit(i, { failureThreshold: e.target.value })} />
                  </td>
                  <td>
                    <select value={p.onFailure} onChange={(e) => edit(i, { onFailure: e.target.value as PhaseDraft['onFailure'] })}>
                      <option>pause</option>
                      <option>abort</option>
                    </select>
                  </td>
                  <td>
                    <button disabled={phases.length === 1} onClick={() => setPhases(phases.filter((_, n) => n !== i))}>
                      ✕
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <button onClick={() => setPhases([...phases, { ...DEFAULT_PHASES[1]!, name: `phase ${phases.length + 1}` }])}>Add phase</button>
        </fieldset>
        <label>
          Advance
          <select value={advance} onChange={(e) => setAdvance(e.target.value as 'auto' | 'manual')}>
            <option value="auto">automatically when a phase succeeds</option>
            <option value="manual">manually</option>
          </select>
        </label>
        <label>
          Device timeout (s)
          <input className="num" value={timeout} onChange={(e) => setTimeoutS(e.target.value)} />
        </label>
        {error && (
          <div className="error" role="alert">
            <p>{error.message}</p>
            <ul className="issues">
              {error.issues.map((i, n) => (
                <li key={n}>
                  <code>{i.path}</code> {i.message}
                </li>
              ))}
            </ul>
          </div>
        )}
        <div className="row">
          <button onClick={() => act('plan')} disabled={busy || !releaseId}>
            Dry run
          </button>
          <button className="primary" onClick={() => act('start')} disabled={busy || !plan}>
            Start rollout
          </button>
          {!plan && <span className="sub">Run the dry run first: it shows which devices each phase takes.</span>}
        </div>
      </div>
      {plan && <PlanView plan={plan} />}
    </section>
  );
}

function split(s: string): string[] {
  return s
    .split(/[\s,]+/)
    .map((x) => x.trim())
    .filter(Boolean);
}

function PlanView({ plan }: { plan: RolloutPlan }) {
  const onTarget = plan.devices.filter((d) => d.alreadyOnTarget).length;
  return (
    <div className="card" data-testid="plan">
      <h3>
        Plan: {plan.devices.length} devices to {plan.targetVersion}
        {plan.downloadBytes !== null ? ` · ${bytes(plan.downloadBytes)} to download` : ''}
        {plan.deltaDownloadBytes !== null && plan.deltaDownloadBytes !== plan.downloadBytes
          ? ` (${bytes(plan.deltaDownloadBytes)} with deltas)`
          : ''}
      </h3>
      <ol className="plan-phases">
        {plan.phases.map((p) => (
          <li key={p.index}>
            <b>{p.name}</b>: {p.devices} device{p.devices === 1 ? '' : 's'}
          </li>
        ))}
      </ol>
      {onTarget > 0 && <p className="sub">{onTarget} already run the target.</p>}
      {plan.notes.map((n) => (
        <p key={n} className="sub">
          {n}
        </p>
      ))}
      <table>
        <thead>
          <tr>
            <th>Device</th>
            <th>Phase</th>
            <th>From</th>
            <th>Changes</th>
            <th>Images to fetch</th>
          </tr>
        </thead>
        <tbody>
          {plan.devices.slice(0, 100).map((d) => (
            <tr key={d.deviceId}>
              <td>{d.name}</td>
              <td>{d.phase + 1}</td>
              <td>{d.currentVersion ?? '—'}</td>
              <td>{d.changes.map((c) => `${c.component} ${c.change}`).join(', ') || '—'}</td>
              <td>{d.imagesToFetch.length}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {plan.devices.length > 100 && <p className="sub">…and {plan.devices.length - 100} more.</p>}
    </div>
  );
}

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
