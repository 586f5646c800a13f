import { useEffect, useState } from 'react';
import type { DeviceView, SendCommandRequest, SlotRef } from '@flotilla/shared';
import { api } from '../api';
import { useLive } from '../live';
import { LineChart, ProgressBar } from '../ui/charts';
import { Badge, ErrorNote, ago, bytes, deviceStatus } from '../ui/bits';
import { useData } from '../use-data';

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
  const inv = d.inventory;
  return (
    <section>
      <h2>
        {d.name} <span className={`dot dot-${status}`} /> <small data-testid="device-status">{status}</small>
      </h2>
      <p className="sub">
        {d.id} · {d.inventory?.board.model ?? d.board ?? 'unknown board'} · agent{' '}
        <span data-testid="agent-version">{d.reported?.agentVersion ?? '-'}</span> · last seen {ago(d.lastSeenAt)} · desired rev{' '}
        {d.desired.rev}
        {d.tags.map((t) => (
          <span key={t} className="tag">
            {t}
          </span>
        ))}
      </p>
      <Actions device={d} />
      <div className="grid3">
        <LineChart
          series={{
            label: 'CPU',
            unit: '%',
            color: '#2563eb',
            max: 100,
            points: points.map((p) => ({ t: Date.parse(p.at), v: p.cpuPercent })),
          }}
        />
        <LineChart
          series={{
            label: 'Memory',
            unit: 'MiB',
            color: '#7c3aed',
            max: (points.at(-1)?.memTotalBytes ?? 0) / 2 ** 20 || undefined,
            points: points.map((p) => ({ t: Date.parse(p.at), v: p.memUsedBytes / 2 ** 20 })),
          }}
        />
        <LineChart
          series={{
            label: 'Temperature',
            unit: '°C',
            color: '#dc2626',
            points: points.map((p) => ({ t: Date.parse(p.at), v: p.temperatureC })),
          }}
        />
      </div>
      <div className="grid2">
        <div className="card">
          <h3>A/B slots</h3>
          <div className="slots">
            <Slot title="Active" slot={update?.active ?? null} kind="active" />
            <Slot title="Candidate" slot={update?.candidate ?? null} kind={update?.phase === 'rollback' ? 'failed' : 'candidate'} />
          </div>
          <p>
            Phase <Badge kind={update?.phase ?? 'idle'}>{update?.phase ?? 'unknown'}</Badge>
            {update?.failedRev != null && <> · failed rev {update.failedRev}</>}
          </p>
          {update?.progress && (
            <>
              <ProgressBar
                total={100}
                segments={[{ value: update.progress.percent, className: 'seg-updating', label: 'downloaded' }]}
                testId="pull-progress"
              />
              <p className="sub">
                images {update.progress.imagesDone}/{update.progress.imagesTotal} · {bytes(update.progress.bytesDone)}
                {update.progress.bytesTotal ? ` of ${bytes(update.progress.bytesTotal)}` : ''}
              </p>
            </>
          )}
          {update?.lastFailure && <p className="error">Last failure: {update.lastFailure}</p>}
          {os && (
            <div data-testid="os-status">
              <h3>Operating system</h3>
              <p>
                OS {os.version ?? 'unknown'} on slot {os.slot ?? '?'}
                {os.inTrial ? ' (trial boot)' : ''} · <Badge kind={os.phase === 'idle' ? 'idle' : 'fetch'}>{os.phase}</Badge>
                {os.phase !== 'idle' && os.target ? ` → ${os.target}` : ''}
              </p>
              {os.progress && (
                <>
                  <ProgressBar
                    total={100}
                    segments={[{ value: os.progress.percent, className: 'seg-updating', label: 'written' }]}
                    testId="os-progress"
                  />
                  <p className="sub">
                    {bytes(os.progress.bytesDone)} of {bytes(os.progress.bytesTotal)} written
                  </p>
                </>
              )}
              {os.lastFailure && <p className="error">Last OS update failure: {os.lastFailure}</p>}
            </div>
          )}
        </div>
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
              {(d.reported?.components ?? []).map((c) => (
                <tr key={c.name}>
                  <td title={c.image}>{c.name}</td>
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
                {e.rev !== null && <span className="sub"> rev {e.rev}</span>} <span>{e.message}</span>
              </li>
            ))}
          </ol>
          {events.data?.length === 0 && <p className="empty">No events yet.</p>}
        </div>
        <div className="card">
          <h3>Inventory</h3>
          {inv ? (
            <dl className="inventory">
              <dt>Model</dt>
              <dd>{inv.board.model}</dd>
              <dt>CPU</dt>
              <dd>
                {inv.cpu.brand} · {inv.cpu.cores} cores · {inv.arch}
              </dd>
              <dt>Memory</dt>
              <dd>{bytes(inv.memory.totalBytes)}</dd>
              <dt>OS</dt>
              <dd>
                {inv.os.distro} {inv.os.release} · kernel {inv.os.kernel}
              </dd>
              {inv.disks.map((k) => (
                <span key={k.mount} style={{ display: 'contents' }}>
                  <dt>Disk {k.mount}</dt>
                  <dd>
                    {bytes(k.usedBytes)} of {bytes(k.sizeBytes)} ({k.fs})
                  </dd>
                </span>
              ))}
            </dl>
          ) : (
            <p className="empty">No inventory reported yet.</p>
          )}
          <LogTail device={d.id} components={(d.reported?.components ?? []).map((c) => c.name)} />
        </div>
      </div>
    </section>
  );
}

function Slot({ title, slot, kind }: { title: string; slot: SlotRef | null; kind: string }) {
  return (
    <div className={`slot slot-${slot ? kind : 'empty'}`} data-testid={`slot-${title.toLowerCase()}`}>
      <div className="slot-title">{title}</div>
      {slot ? (
        <>
          <div className="slot-version">{slot.version ?? slot.releaseId?.slice(0, 8) ?? 'none'}</div>
          <div className="sub">rev {slot.rev}</div>
        </>
      ) : (
        <div className="sub">empty</div>
      )}
    </div>
  );
}

function Actions({ device }: { device: DeviceView }) {
  return (
    <div className="actions">
      <CommandButton device={device.id} name="identify" label="Identify" />
      <CommandButton device={device.id} name="reboot" label="Reboot" confirm="Reboot this device?" />
      <CommandButton device={device.id} name="rollback" label="Roll back" confirm="Roll back to the other slot?" />
    </div>
  );
}

function CommandButton(props: {
  device: string;
  name: SendCommandRequest['name'];
  label: string;
  args?: Record<string, string>;
  confirm?: string;
}) {
  const [state, setState] = useState<{ busy?: boolean; result?: string; ok?: boolean }>({});
  const run = async () => {
    if (props.confirm && !window.confirm(props.confirm)) return;
    setState({ busy: true });
    try {
      const r = await api('POST /api/v1/devices/:id/commands', {
        params: { id: props.device },
        body: { name: props.name, args: props.args ?? {} },
      });
      setState({ ok: r.ok, result: r.ok ? (r.output ?? 'done') : (r.error ?? 'failed') });
    } catch (e) {
      setState({ ok: false, result: (e as Error).message });
    }
  };
  return (
    <span className="command">
      <button onClick={run} disabled={state.busy}>
        {state.busy ? '…' : props.label}
      </button>
      {state.result && <span className={state.ok ? 'ok' : 'error'}>{state.result.slice(0, 80)}</span>}
    </span>
  );
}

/** Polls the `logs` command of one component while the panel is open. */
function LogTail({ device, components }: { device: string; components: string[] }) {
  const [component, setComponent] = useState('');
  const [text, setText] = useState('');
  const [error, setError] = useState<string>();
  useEffect(() => {
    if (!component) return;
    let stopped = false;
    const tick = async () => {
      try {
        const r = await api('POST /api/v1/devices/:id/commands', {
          params: { id: device },
          body: { name: 'logs', args: { component, tail: '200' } },
        });
        if (stopped) return;
        if (r.ok) setText(r.output ?? '');
        else setError(r.error ?? 'failed');
      } catch (e) {
        if (!stopped) setError((e as Error).message);
      }
      if (!stopped) setTimeout(tick, 3000);
    };
    void tick();
    return () => {
      stopped = true;
    };
  }, [device, component]);
  if (components.length === 0) return null;
  return (
    <div className="logtail">
      <h3>
        Logs{' '}
        <select value={component} onChange={(e) => setComponent(e.target.value)} aria-label="Log component">
          <option value="">choose a component</option>
          {components.map((c) => (
            <option key={c}>{c}</option>
          ))}
        </select>
      </h3>
      {error && <p className="error">{error}</p>}
      {component && <pre>{text || 'waiting for lines…'}</pre>}
    </div>
  );
}
