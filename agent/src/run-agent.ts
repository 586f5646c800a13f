import { access } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { CommandGate } from './admission/command-gate';
import { DesiredGate } from './admission/desired-gate';
import type { DeltaFetcher, DeltaFetcherOptions } from './delta/delta-fetcher';
import { WatermarkFile } from './admission/watermark-file';
import { Agent } from './agent';
import { ControlServer } from './cli/control-server';
import { controlSocketPath } from './cli/protocol';
import type { AgentConfig } from './config';
import { recognizeBoard } from './hardware/board';
import { LocalStatusFile } from './reporting/local-status';
import { collectInventory } from './hardware/inventory';
import { sampleTelemetry } from './hardware/telemetry';
import { bootSpreadDelayMs } from './link/boot-spread';
import { MqttLink } from './link/mqtt-link';
import { EventOutbox } from './link/outbox';
import { keepCertificateCurrent } from './provisioning/certificate-renewal';
import { loadOrRegister } from './provisioning/credentials';
import { TrustedKeyStore } from './provisioning/trusted-key-store';
import { DockerRuntime } from './runtime/docker-runtime';
import { DEFAULT_ENGINE_SOCKET, EngineClient } from './runtime/engine-client';
import { LateEngineRuntime } from './runtime/late-engine-runtime';
import { NoEngineRuntime } from './runtime/no-engine-runtime';
import { OsUpdates } from './os-update/os-updates';
import { SelfUpdate } from './self-update/self-update';
import { sweepStaleTempFiles } from './state/atomic-file';
import { systemClock } from './support/clock';
import { errorMessage } from './support/errors';
import { freeDiskBytes } from './support/free-disk';
import type { Logger } from './support/logger';
import { SystemdWatchdog } from './support/systemd-watchdog';
import { ImageLedger } from './update/image-ledger';
import { UpdateJournal } from './update/journal';
import type { StepHooks } from './update/step-hooks';
import { LockStore } from './update/locks/lock-store';
import { AGENT_VERSION } from './version';
import { DEVICE_RECONNECT_POLICY } from '@flotilla/shared/device';

const SHUTDOWN_GRACE_MS = 10_000;

/** What a test may inject into a real agent process (agent/src/testing/pausing-main.ts); production injects nothing. */
export interface AgentSeams {
  stepHooks?: StepHooks;
}

/** Runs the agent until SIGTERM or SIGINT: registers (once), then keeps the engine on the desired assembly. */
export async function runAgent(config: AgentConfig, logger: Logger, seams: AgentSeams = {}): Promise<void> {
  const shutdown = new AbortController();
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      logger.info('shutting down', { signal });
      shutdown.abort();
    });
  }
  logger.info('starting', { version: AGENT_VERSION, provisioning: config.provisioningPath, stateDir: config.stateDir });
  // From the start: registration may wait long for the network, and a wedged agent must be restarted then too.
  const watchdog = SystemdWatchdog.fromEnv(logger);
  shutdown.signal.addEventListener('abort', () => watchdog?.stop(), { once: true });

  const identity = await loadOrRegister({
    provisioningPath: config.provisioningPath,
    stateDir: config.stateDir,
    clock: systemClock,
    logger,
    signal: shutdown.signal,
  });
  if (shutdown.signal.aborted) return;
  const credential = identity.credential;
  // After the state dir was checked as ours (loadOrRegister): what a power cut left mid-write.
  await sweepTempFiles([config.stateDir, dirname(config.provisioningPath), config.statusDir], logger);

  const engine = EngineClient.fromEnv();
  const docker = new DockerRuntime(engine, {
    hostRoot: config.hostRoot,
    ...(config.scopeLabel ? { scopeLabels: { [config.scopeLabel.key]: config.scopeLabel.value } } : {}),
  });
  // No socket yet is not "no engine for good": dockerd may start after the agent, or be restarting.
  const runtime = (await engineSocketMissing())
    ? new LateEngineRuntime(DEFAULT_ENGINE_SOCKET, docker, new NoEngineRuntime(DEFAULT_ENGINE_SOCKET, config.stateDir), () =>
        logger.info('container engine found', { socket: DEFAULT_ENGINE_SOCKET }),
      )
    : docker;
  if (runtime !== docker)
    logger.warn('no container engine yet: releases with components wait for its socket', { socket: DEFAULT_ENGINE_SOCKET });
  const os = await OsUpdates.forRunningOs({
    root: config.hostRoot,
    bootMount: BOOT_MOUNT,
    stateDir: config.stateDir,
    logger,
    trialTimeoutMs: config.osTrialTimeoutMs,
    ca: credential.caCertificates,
  }).catch((err: unknown) => {
    logger.error('OS updates are off: the OS description is unusable', { error: errorMessage(err) });
    return undefined;
  });
  const selfUpdate = SelfUpdate.fromEnv(AGENT_VERSION, logger, credential.caCertificates, config.diskReserveBytes);
  const board = await recognizeBoard(config.board, config.hostRoot);
  logger.info('board', { board: board ?? 'unknown' });
  const outbox = new EventOutbox(config.stateDir);
  await outbox.load();
  const trustedKeys = await TrustedKeyStore.open({ stateDir: config.stateDir, pinned: credential.releaseKeys, logger });
  const agent: Agent = new Agent({
    deviceId: credential.deviceId,
    localStatus: new LocalStatusFile(config.statusDir),
    runtime,
    os,
    selfUpdate: selfUpdate && { update: selfUpdate, restart: () => shutdown.abort() },
    journal: new UpdateJournal(config.stateDir),
    ledger: new ImageLedger(config.stateDir),
    // Absolute: the engine bind-mounts each locking component's directory from here.
    lockStore: new LockStore(resolve(config.stateDir, 'locks')),
    clock: systemClock,
    logger,
    releaseKeys: trustedKeys,
    ...(seams.stepHooks ? { stepHooks: seams.stepHooks } : {}),
    gate: new DesiredGate({
      deviceId: credential.deviceId,
      trust: trustedKeys,
      watermark: new WatermarkFile(config.stateDir),
      clock: systemClock,
      heldRev: () => agent.heldRev(),
    }),
    commandGate: new CommandGate({ deviceId: credential.deviceId, trust: trustedKeys, clock: systemClock }),
    board,
    freeDiskBytes: (path) => freeBytes(path, config.stateDir),
    imageFacts: (ref, platform, auth) => registryCode().registryFacts(ref, platform, auth, credential.caCertificates, logger),
    // Deltas come over the control plane's HTTP API with the device's password (not for certificate-only devices yet).
    ...(credential.password
      ? {
          deltas: lazyDeltas(() => ({
            apiUrl: credential.apiUrl,
            deviceId: credential.deviceId,
            password: credential.password!,
            ca: credential.caCertificates,
            images: new (deltaCode().engineImages.EngineImages)(engine),
            workDir: resolve(config.stateDir, 'delta-work'),
            reserveBytes: config.diskReserveBytes,
            clock: systemClock,
            logger,
          })),
        }
      : {}),
    outbox,
    collectInventory: () => collectInventory({ root: config.hostRoot }),
    sampleTelemetry: () => sampleTelemetry({ root: config.hostRoot }),
    settings: {
      telemetryIntervalMs: config.telemetryIntervalMs,
      telemetrySampleMs: config.telemetrySampleMs,
      reportIntervalMs: config.reportIntervalMs,
      inventoryIntervalMs: config.inventoryIntervalMs,
      reconcileIntervalMs: config.reconcileIntervalMs,
      healthTimeoutMs: config.healthTimeoutMs,
      diskReserveBytes: config.diskReserveBytes,
      unknownImageBytes: config.unknownImageBytes,
    },
  });
  const reconnect = { ...DEVICE_RECONNECT_POLICY, bootSpreadMs: config.connectSpreadMs };
  const firstConnectDelayMs = await bootSpreadDelayMs(reconnect);
  if (firstConnectDelayMs > 0) logger.info('first connect spread after boot', { inMs: firstConnectDelayMs });
  const link = new MqttLink({
    credential,
    reconnect,
    firstConnectDelayMs,
    ...(identity.certificate ? { certificate: identity.certificate } : {}),
    logger,
    heldRev: () => agent.heldRev(),
    onDesired: (payload) => void agent.receive(payload),
    onCommand: (payload) => agent.receiveCommand(payload),
    onConnect: () => agent.onConnected(),
  });
  const control = new ControlServer(agent, controlSocketPath(config.stateDir), logger);
  await control.start();
  await agent.start(link);
  link.start();
  logger.info('running', { deviceId: credential.deviceId, mqttUrl: credential.mqttUrl, certificate: !!identity.certificate });
  const renewal = keepCertificateCurrent({
    stateDir: config.stateDir,
    credential,
    current: identity.certificate,
    onCertificate: (certificate) => link.useCertificate(certificate),
    clock: systemClock,
    logger,
    signal: shutdown.signal,
  }).catch((err: unknown) => logger.error('device certificate renewal stopped', { error: errorMessage(err) }));

  // Already aborted when the agent stops itself at start (a self-update trial it cannot pass): no abort event follows.
  if (!shutdown.signal.aborted)
    await new Promise<void>((resolve) => shutdown.signal.addEventListener('abort', () => resolve(), { once: true }));
  // Containers are left running on purpose: the device keeps serving while the agent is away.
  const grace = new Promise<void>((resolve) => setTimeout(resolve, SHUTDOWN_GRACE_MS).unref());
  await Promise.race([control.stop(), grace]);
  await Promise.race([agent.stop(), grace]);
  await Promise.race([link.stop(), grace]);
  // The last acknowledgments' removal, written before the exit cuts it off (else those events are sent once more).
  await Promise.race([outbox.settled(), grace]);
  await Promise.race([renewal, grace]);
  logger.info('stopped');
}

/** Where the image's fstab mounts the boot partition (cli/src/images/root-files.ts). */
const BOOT_MOUNT = '/boot/firmware';

/** No DOCKER_HOST and no socket at the default path: this device has no container engine, for now. */
async function engineSocketMissing(): Promise<boolean> {
  if (process.env.DOCKER_HOST) return false;
  return access(DEFAULT_ENGINE_SOCKET).then(
    () => false,
    () => true,
  );
}

/** Free bytes where the engine keeps images; the state dir when that path is not visible (agent in a container). */
async function freeBytes(dataRoot: string, fallback: string): Promise<number> {
  for (const path of [dataRoot, fallback]) {
    try {
      return await freeDiskBytes(path);
    } catch {
      continue;
    }
  }
  return Number.MAX_SAFE_INTEGER;
}

/**
 * Deltas (tar, zlib, zstd, the layer rebuild) are for updates only: their code loads with the
 * first image an update fetches, not at start.
 */
function lazyDeltas(options: () => DeltaFetcherOptions): Pick<DeltaFetcher, 'prepare'> {
  let fetcher: DeltaFetcher | undefined;
  return { prepare: (image, context) => (fetcher ??= new (deltaCode().deltaFetcher.DeltaFetcher)(options())).prepare(image, context) };
}

function deltaCode(): {
  deltaFetcher: typeof import('./delta/delta-fetcher');
  engineImages: typeof import('./delta/engine-images');
} {
  /* eslint-disable @typescript-eslint/no-require-imports -- on demand, see lazyDeltas */
  return {
    deltaFetcher: require('./delta/delta-fetcher') as typeof import('./delta/delta-fetcher'),
    engineImages: require('./delta/engine-images') as typeof import('./delta/engine-images'),
  };
  /* eslint-enable @typescript-eslint/no-require-imports */
}

/**
 * The registry client runs only when an update checks its images: loaded then, not at start
 * (RSS an idle agent would keep for good, BENCHMARKS.md "agent"). A require in a function stays
 * lazy in the bundle too.
 */
function registryCode(): typeof import('./update/registry-facts') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- on demand, see above
  return require('./update/registry-facts') as typeof import('./update/registry-facts');
}

/** The dirs `writeFileAtomic` writes in; a sweep that fails costs only the space of what it left. */
async function sweepTempFiles(dirs: readonly string[], logger: Logger): Promise<void> {
  for (const dir of dirs) {
    try {
      const removed = await sweepStaleTempFiles(dir);
      if (removed.length > 0) logger.info('removed temporary files a write cut short left', { dir, files: removed });
    } catch (err) {
      logger.warn('could not remove the temporary files a write cut short left', { dir, error: errorMessage(err) });
    }
  }
}
