import type { SimulationOptions } from './simulation';

/**
 * What `npm start -- --demo` runs beside the control plane: a fleet of simulated devices of which
 * three always fail their update. They are numbered so that, with the README's phases (one
 * canary, then 50 %, then the rest), the canary passes and the failures fall into the second
 * phase: devices register 16 at a time, so device N is among the first N+16 to exist, and the
 * second phase holds the 2nd to 100th. The README's walk-through, and the test that follows it
 * word for word (test/e2e/readme-rollout.e2e.test.ts), rely on this.
 */
export const DEMO_FAILING_DEVICES: readonly number[] = [23, 47, 71];

/**
 * What origin asks of its hosts (device-status bind-mounts the agent's status directory), which a
 * fleet must allow before a rollout of it starts: the demo's fleet allows it, as an admin would.
 */
export const DEMO_HOST_POLICY = { bindMounts: ['/run/flotilla'], devices: [], capabilities: [] };

export function demoSimulation(
  endpoints: { apiUrl: string; apiKey: string; mqttUrl: string },
  devices = 200,
  log?: (line: string) => void,
): SimulationOptions {
  return {
    ...endpoints,
    devices,
    failingDevices: DEMO_FAILING_DEVICES,
    fleetHostPolicy: DEMO_HOST_POLICY,
    namePrefix: 'demo',
    ...(log ? { log } : {}),
  };
}
