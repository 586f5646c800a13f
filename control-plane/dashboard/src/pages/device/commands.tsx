import { useState } from 'react';
import type { DeviceView, SendCommandRequest } from '@flotilla/shared';
import { api } from '../../api';
import { DeviceText } from '../../ui/device-text';

export function Actions({ device }: { device: DeviceView }) {
  return (
    <div className="actions">
      <CommandButton device={device.id} name="identify" label="Identify" />
      <CommandButton device={device.id} name="reboot" label="Reboot" confirm="Reboot this device?" />
      <CommandButton device={device.id} name="rollback" label="Roll back" confirm="Roll back to the other slot?" />
    </div>
  );
}

/** Sends one command and shows its answer beside the button. */
export function CommandButton(props: {
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
      {state.result && (
        <span className={state.ok ? 'ok' : 'error'}>
          <DeviceText>{state.result.slice(0, 80)}</DeviceText>
        </span>
      )}
    </span>
  );
}
