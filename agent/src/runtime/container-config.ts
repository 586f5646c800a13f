import type { ContainerCreateOptions } from 'dockerode';
import type { ComponentSpec, HealthcheckSpec } from '@flotilla/shared/device';
import type { ContainerRequest } from './container-runtime';
import { LOCK_DIR_IN_CONTAINER } from '../update/locks/lock';
import { LABEL_NAMESPACE, resourceName } from './labels';

const NS_PER_MS = 1_000_000;

/**
 * Engine create options for one component, following what `docker compose up` would do
 * for the same service, so an assembly behaves alike on a laptop and on a device.
 * Pure: the network connections after the first are returned for the caller to make,
 * because engines before API 1.44 accept only one endpoint at create time.
 */
export function toCreateOptions(request: ContainerRequest): { options: ContainerCreateOptions; extraNetworks: string[] } {
  const { spec, assembly } = request;
  const networks = spec.networks.map((n) => resourceName(assembly, n));
  const [primary, ...extra] = networks;
  const options: ContainerCreateOptions = {
    name: request.name,
    Image: spec.image,
    Env: Object.entries(spec.environment).map(([k, v]) => `${k}=${v}`),
    Labels: { ...releaseLabels(spec.labels), ...request.labels },
    ExposedPorts: Object.fromEntries(spec.ports.map((p) => [`${p.container}/${p.protocol}`, {}])),
    HostConfig: {
      // A shell as PID 1 ignores SIGTERM; Docker's init forwards it, so stop takes ms, not the 10 s kill timeout.
      Init: true,
      RestartPolicy: { Name: spec.restart },
      PortBindings: portBindings(spec),
      Binds: [
        ...spec.mounts.map(
          (m) => `${m.type === 'volume' ? resourceName(assembly, m.source) : m.source}:${m.target}:${m.readOnly ? 'ro' : 'rw'}`,
        ),
        ...(request.lockDir ? [`${request.lockDir}:${LOCK_DIR_IN_CONTAINER}:rw`] : []),
      ],
      Devices: spec.devices.map(deviceMapping),
      CapAdd: spec.capAdd,
      // SD cards wear out and fill up: bound what the engine keeps of each component's output.
      LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } },
      ...(spec.memLimitBytes !== undefined ? { Memory: spec.memLimitBytes } : {}),
      ...(spec.cpus !== undefined ? { NanoCpus: Math.round(spec.cpus * 1e9) } : {}),
      ...(primary ? { NetworkMode: primary } : {}),
    },
    NetworkingConfig: primary ? { EndpointsConfig: { [primary]: { Aliases: [spec.name] } } } : {},
  };
  if (spec.command) options.Cmd = spec.command;
  if (spec.entrypoint) options.Entrypoint = spec.entrypoint;
  if (spec.healthcheck) options.Healthcheck = healthcheck(spec.healthcheck);
  return { options, extraNetworks: extra };
}

/**
 * A release's own labels, without any in the agent's namespace: the control plane refuses them
 * since, but a release published before is still delivered, and a label such as another agent's
 * scope (`FLOTILLA_SCOPE_LABEL`) would make that agent take the container for its own.
 */
function releaseLabels(labels: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).filter(([key]) => !key.toLowerCase().startsWith(LABEL_NAMESPACE)));
}

function portBindings(spec: ComponentSpec): Record<string, { HostPort: string; HostIp?: string }[]> {
  const bindings: Record<string, { HostPort: string; HostIp?: string }[]> = {};
  for (const p of spec.ports) {
    // No host port means "any free one", as Compose's short syntax "80" does.
    const binding = { HostPort: p.host === undefined ? '' : String(p.host), ...(p.hostIp ? { HostIp: p.hostIp } : {}) };
    (bindings[`${p.container}/${p.protocol}`] ??= []).push(binding);
  }
  return bindings;
}

/** Compose device syntax: `/dev/host[:/dev/container[:permissions]]`. */
export function deviceMapping(device: string): { PathOnHost: string; PathInContainer: string; CgroupPermissions: string } {
  const [host = device, container, permissions] = device.split(':');
  return { PathOnHost: host, PathInContainer: container || host, CgroupPermissions: permissions || 'rwm' };
}

/** The engine counts health check durations in nanoseconds. */
function healthcheck(h: HealthcheckSpec): NonNullable<ContainerCreateOptions['Healthcheck']> {
  return {
    Test: h.test,
    ...(h.intervalMs !== undefined ? { Interval: h.intervalMs * NS_PER_MS } : {}),
    ...(h.timeoutMs !== undefined ? { Timeout: h.timeoutMs * NS_PER_MS } : {}),
    ...(h.retries !== undefined ? { Retries: h.retries } : {}),
    ...(h.startPeriodMs !== undefined ? { StartPeriod: h.startPeriodMs * NS_PER_MS } : {}),
  };
}
