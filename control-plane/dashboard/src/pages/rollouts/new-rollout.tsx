import { useEffect, useState } from 'react';
import type { FleetView, ReleaseView, RolloutPlan } from '@flotilla/shared';
import { api, ApiFailure, type Issue } from '../../api';
import { catalog } from '../../catalog';
import { navigate, useLocation } from '../../router';
import { DEFAULT_PHASES, rolloutRequest, type PhaseDraft } from './rollout-draft';
import { PlanView } from './plan-view';

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

  const request = () => rolloutRequest({ releaseId, name, fleetId, tags, deviceIds, phases, advance, timeout });
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
