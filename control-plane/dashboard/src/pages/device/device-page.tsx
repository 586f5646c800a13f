import { useEffect } from 'react';
import { api } from '../../api';
import { useLive } from '../../live';
import { Badge, ErrorNote, ago, deviceStatus } from '../../ui/bits';
import { useData } from '../../use-data';
import { Actions, CommandButton } from './commands';
import { InventoryList } from './inventory';
import { LogTail } from './log-tail';
import { TelemetryCharts } from './telemetry-charts';
import { UpdateStatusCard } from './update-status';
import { DeviceText, deviceKey } from '../../ui/device-text';

const WINDOW_MS = 30 * 60_000;

export function Device({ id }: { id: string }) {
  const device = useData(() => api('GET /api/v1/devices/:id', { params: { id } }), [id]);
  const events = useData(() => api('GET /api/v1/dashboard/devices/:id/events', { params: { id }, query: { limit: 50 } }), [id]);
  const telemetry = useData(
    () =>
      api('GET /api/v1/devices/:id/telemetry', {
        params: { id },
        query: { from: new Date(Date.now() - WINDOW_MS).toISOString(), limit: 500 },
      }),
    [id],
  );
  useLive(
    (e) => e.type === 'device' && e.id === id,
    () => {
      device.reload();
      events.reload();
    },
  );
  // Telemetry arrives in batches; a poll keeps the charts moving without a stream of its own.
  useEffect(() => {
    const t = setInterval(telemetry.reload, 5_000);
    return () => clearInterval(t);
  }, [telemetry.reload]);

  const d = device.data;
  if (device.error) return <ErrorNote error={device.error} />;
  if (!d) return <p>Loading…</p>;
  const update = d.reported?.update;
  const os = d.reported?.os;
  const status = deviceStatus({
    online: d.online,
    updatePhase: d.updatePhase,
    failed: update?.failedRev != null && update.failedRev >= d.desired.rev,
    decommissioned: d.decommissionedAt !== null,
  });
  const points = telemetry.data?.points ?? [];
  return (
    <section>
      <h2>
        <DeviceText>{d.name}</DeviceText> <span className={`dot dot-${status}`} /> <small data-testid="device-status">{status}</small>
      </h2>
      <p className="sub">
        {d.id} · <DeviceText>{d.inventory?.board.model ?? d.board ?? 'unknown board'}</DeviceText> · agent{' '}
        <span data-testid="agent-version">
          <DeviceText>{d.reported?.agentVersion ?? '-'}</DeviceText>
        </span>{' '}
        · last seen {ago(d.lastSeenAt)} · desired rev {d.desired.rev}
        {d.tags.map((t) => (
          <span key={t} className="tag">
            {t}
          </span>
        ))}
      </p>
      <Actions device={d} />
      <TelemetryCharts points={points} />
      <div className="grid2">
        <UpdateStatusCard update={update} os={os} />
        <div className="card">
          <h3>Components</h3>
          <table>
            <thead>
              <tr>
                <th>Name</th>
                <th>State</th>
                <th>Health</th>
                <th>Restarts</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {(d.reported?.components ?? []).map((c, i) => (
                // Keyed by position: a device may report two components of one name (deviceKey).
                <tr key={deviceKey(i, c.name)}>
                  <td title={c.image}>
                    <DeviceText>{c.name}</DeviceText>
                  </td>
                  <td>
                    <Badge kind={c.state}>{c.state}</Badge>
                  </td>
                  <td>
                    <Badge kind={c.health}>{c.health}</Badge>
                  </td>
                  <td>{c.restartCount ?? 0}</td>
                  <td>
                    <CommandButton device={d.id} name="restart-component" args={{ component: c.name }} label="Restart" />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {!d.reported?.components.length && <p className="empty">No components reported.</p>}
        </div>
      </div>
      <div className="grid2">
        <div className="card">
          <h3>Events</h3>
          <ol className="timeline" data-testid="timeline">
            {(events.data ?? []).map((e, i) => (
              <li key={`${e.at}-${i}`} className={`ev ev-${e.kind}`}>
                <time title={e.at}>{ago(e.at)}</time> <b>{e.kind}</b>
                {e.rev !== null && <span className="sub"> rev {e.rev}</span>} <DeviceText>{e.message}</DeviceText>
              </li>
            ))}
          </ol>
          {events.data?.length === 0 && <p className="empty">No events yet.</p>}
        </div>
        <div className="card">
          <h3>Inventory</h3>
          <InventoryList inv={d.inventory} />
          <LogTail device={d.id} components={(d.reported?.components ?? []).map((c) => c.name)} />
        </div>
      </div>
    </section>
  );
}
