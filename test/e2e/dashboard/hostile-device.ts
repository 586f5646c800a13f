import { connectAsync, type MqttClient } from 'mqtt';
import {
  PROTOCOL_SCHEMA,
  deviceTopic,
  type DeviceChannel,
  type ProvisioningTokenView,
  type RegisterDeviceResponse,
} from '@flotilla/shared';
import { json, type Api } from '../../../control-plane/src/testing/sim-fleet';

/** Markup that runs script if it is ever parsed as HTML: sets `window.__xss` to `n` and opens a dialog. */
export const markup = (n: number) => `<img src=x onerror="window.__xss=${n};alert(${n})">`;
/** Markup, then one word as long as the field takes (in code points, as the schemas count). */
const long = (n: number, max: number) => `${markup(n)}${'W'.repeat(max - markup(n).length)}`;
/** A letter under hundreds of combining marks, drawn far above and below its line. */
export const ZALGO = `Z${'\u0336\u0337\u0338\u0489'.repeat(60)}`;
/** RIGHT-TO-LEFT OVERRIDE: reverses what follows it in its paragraph unless isolated. */
const RLO = '\u202e';

export interface HostileDevice {
  deviceId: string;
  /** Reports one other component and disk instead of the repeated ones, and `agentVersion`. */
  reportOnce(agentVersion: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A device with its own identity that fills every string the dashboard shows with markup, words
 * too long for any column, marks and bidirectional controls: its name at registration, inventory,
 * reported state, events and command answers, over MQTT like any device. Its components and
 * disks come twice each: two names, each given twice.
 */
export async function startHostileDevice(api: Api, mqttUrl: string): Promise<HostileDevice> {
  const token = await json<ProvisioningTokenView>(api('/api/v1/provisioning-tokens', { method: 'POST', body: '{}' }), 201);
  const name = `${long(1, 127)}${RLO}`;
  const { deviceId, password } = await json<RegisterDeviceResponse>(
    api('/api/v1/devices/register', { method: 'POST', key: null, body: JSON.stringify({ token: token.token, name, board: long(2, 64) }) }),
    201,
  );
  const client: MqttClient = await connectAsync(mqttUrl, { clientId: deviceId, username: deviceId, password: password! });
  const send = (channel: DeviceChannel, body: object) =>
    client.publishAsync(
      deviceTopic(deviceId, channel),
      JSON.stringify({ schema: PROTOCOL_SCHEMA, at: new Date().toISOString(), ...body }),
      {
        qos: 1,
      },
    );
  const disk = { mount: long(10, 1024), fs: markup(11), sizeBytes: 2 ** 30, usedBytes: 2 ** 20 };
  const component = { name: long(14, 256), image: `javascript:alert(15)//${markup(15)}`, state: 'running', health: 'healthy' };
  const twice = <T>(...items: T[]) => items.flatMap((item) => [item, item]);
  const report = async (disks: object[], components: object[], agentVersion: string) => {
    await send('inventory', {
      hostname: markup(3),
      arch: markup(4),
      board: { model: `${long(5, 255)}${RLO}` },
      cpu: { manufacturer: markup(6), brand: ZALGO, cores: 4 },
      memory: { totalBytes: 2 ** 30 },
      // The override at the end of the release would turn "kernel" around unless the release is isolated.
      os: { distro: markup(7), release: `${markup(8)}${RLO}`, kernel: long(9, 1024) },
      disks,
      network: [{ iface: markup(12), mac: markup(13) }],
      temperatures: [],
    });
    await send('reported', {
      agentVersion,
      rev: 0,
      update: {
        phase: 'idle',
        active: { rev: 0, releaseId: markup(17), version: long(18, 256) },
        candidate: null,
        failedRev: null,
        lastFailure: long(19, 8192),
      },
      components,
      os: { version: markup(20), slot: 'A', inTrial: false, phase: 'write', target: long(21, 256), lastFailure: long(22, 8192) },
    });
  };
  await report(twice(disk, { ...disk, mount: '/twin' }), twice(component, { ...component, name: 'twin' }), long(16, 256));
  await send('events', { kind: 'command', message: long(23, 8192) });
  await send('events', { kind: 'command', message: ZALGO });
  // Answers every command (identify, logs) with markup: one line too long for any screen, then marks.
  await client.subscribeAsync(deviceTopic(deviceId, 'cmd'), { qos: 1 });
  client.on('message', (_topic, payload) => {
    const { id } = JSON.parse((JSON.parse(payload.toString()) as { statement: string }).statement) as { id: string };
    void send('cmd/res', { id, ok: true, output: `${long(24, 20_000)}\n${ZALGO}` });
  });
  return {
    deviceId,
    reportOnce: (agentVersion) => report([{ ...disk, mount: '/once' }], [{ ...component, name: 'once' }], agentVersion),
    stop: () => client.endAsync(),
  };
}

// What follows runs in the browser (page.evaluate): JavaScript source, as the DOM's types are not
// in this program's lib.

/** Records the Content-Security-Policy violations of every page the browser opens next, in `window.__violations`. */
export const RECORD_VIOLATIONS = `document.addEventListener('securitypolicyviolation', (e) => (window.__violations ??= []).push(e.violatedDirective))`;

export interface PageFindings {
  /** Set when a payload's script ran. */
  xss: unknown;
  /** Elements a payload would have created had it been parsed as HTML. */
  injected: number;
  /** How far the page is wider than the window: a device's string pushing the rest out of view. */
  overflowPx: number;
  /** The longest run of combining marks on the page. */
  longestMarkRun: number;
  /** Buttons taller than one line: the dashboard's own words squeezed apart beside a device's long one. */
  squeezedButtons: number;
  violations: string[];
  text: string;
}

/** What the page shows and did: a `PageFindings`. */
export const PAGE_FINDINGS = `(() => {
  const text = document.body.innerText;
  return {
    xss: window.__xss,
    injected: document.querySelectorAll('img[src=x], [onerror]').length,
    overflowPx: document.documentElement.scrollWidth - document.documentElement.clientWidth,
    longestMarkRun: Math.max(0, ...[...text.matchAll(/\\p{M}+/gu)].map((m) => [...m[0]].length)),
    squeezedButtons: [...document.querySelectorAll('button')].filter((b) => b.getBoundingClientRect().height > 40).length,
    violations: window.__violations ?? [],
    text,
  };
})()`;

/**
 * Whether the word "kernel" of the inventory's OS line reads left to right on screen: a release
 * ending in RIGHT-TO-LEFT OVERRIDE turns it around when the release is not isolated.
 */
export const KERNEL_READS_LEFT_TO_RIGHT = `(() => {
  const dd = [...document.querySelectorAll('.inventory dd')].find((d) => d.textContent.includes(' · kernel '));
  const walker = document.createTreeWalker(dd, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const at = node.textContent.indexOf('kernel');
    if (at < 0) continue;
    const x = (i) => {
      const range = document.createRange();
      range.setStart(node, i);
      range.setEnd(node, i + 1);
      return range.getBoundingClientRect().left;
    };
    return x(at) < x(at + 5);
  }
  throw new Error('no "kernel" in the inventory');
})()`;

/** The device page's component rows and disks, as "<n> components, <n> disks". */
export const COMPONENTS_AND_DISKS = `document.querySelectorAll('tr:has(> td > .command)').length + ' components, ' +
  [...document.querySelectorAll('.inventory dt')].filter((dt) => dt.textContent.startsWith('Disk')).length + ' disks'`;

/** Whether the page lets a string become markup: under Trusted Types, assigning one to innerHTML throws. */
export const INNER_HTML_TAKES_STRINGS = `(() => {
  try {
    document.createElement('div').innerHTML = '<b>markup</b>';
    return true;
  } catch {
    return false;
  }
})()`;
