import { useEffect, useState } from 'react';
import { api } from '../../api';
import { DeviceText, deviceKey, tameMarks } from '../../ui/device-text';

/** Polls the `logs` command of one component while the panel is open. */
export function LogTail({ device, components }: { device: string; components: string[] }) {
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
          {components.map((c, i) => (
            <option key={deviceKey(i, c)} value={c}>
              {tameMarks(c)}
            </option>
          ))}
        </select>
      </h3>
      {error && (
        <p className="error">
          <DeviceText>{error}</DeviceText>
        </p>
      )}
      {component && (
        <pre>
          <DeviceText>{text || 'waiting for lines…'}</DeviceText>
        </pre>
      )}
    </div>
  );
}
