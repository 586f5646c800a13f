import type { Page, RolloutDeviceView, RolloutView } from '@flotilla/shared';
import { Link } from '../../router';
import { ago } from '../../ui/bits';
import { DeviceText } from '../../ui/device-text';

/**
 * The rollout's failed devices and the operators' acceptances of them. An accepted failure (by
 * Resume or Next phase) no longer counts against the phase's thresholds; who accepted it and
 * when stays on the record.
 */
export function RolloutFailures({ rollout, failed }: { rollout: RolloutView; failed: Page<RolloutDeviceView> | undefined }) {
  const pending = rollout.totals.failed - rollout.totals.accepted;
  if (!failed || failed.items.length === 0) return null;
  return (
    <div className="card">
      <h3>Failed devices</h3>
      {rollout.status === 'paused' && pending > 0 && (
        <p className="sub" data-testid="resume-accepts">
          Resume accepts the {pending} failure(s) not yet accepted: the thresholds stop counting them.
        </p>
      )}
      {rollout.acceptances.map((a) => (
        <p className="sub" key={`${a.acceptedBy} ${a.acceptedAt}`} data-testid="acceptance">
          {a.count} failure(s) accepted by {a.acceptedBy} {ago(a.acceptedAt)}
        </p>
      ))}
      <table>
        <tbody>
          {failed.items.map((d) => (
            <tr key={d.deviceId}>
              <td>
                <Link to={`/devices/${d.deviceId}`}>{d.deviceId}</Link>
              </td>
              <td>phase {d.phase + 1}</td>
              <td className="error" data-testid="failure-reason">
                <DeviceText>{d.reason ?? 'failed'}</DeviceText>
              </td>
              <td className="sub" data-testid="failure-accepted">
                {d.acceptedBy && d.acceptedAt ? `accepted by ${d.acceptedBy} ${ago(d.acceptedAt)}` : 'not accepted'}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
