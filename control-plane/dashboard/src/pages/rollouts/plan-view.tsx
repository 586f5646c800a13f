import type { RolloutPlan } from '@flotilla/shared';
import { bytes } from '../../ui/bits';
import { DeviceText } from '../../ui/device-text';

/** What a dry run found: how many devices each phase takes, what each device changes and fetches. */
export function PlanView({ plan }: { plan: RolloutPlan }) {
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
              <td>
                <DeviceText>{d.name}</DeviceText>
              </td>
              <td>{d.phase + 1}</td>
              <td>
                <DeviceText>{d.currentVersion ?? '—'}</DeviceText>
              </td>
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
