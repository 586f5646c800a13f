#!/usr/bin/env node
import Docker from 'dockerode';
import { Agent } from './agent';
import { readConfig, type AgentConfig } from './config';
import { collectInventory } from './hardware/inventory';
import { sampleTelemetry } from './hardware/telemetry';
import { MqttLink } from './link/mqtt-link';
import { loadOrRegister } from './provisioning/credentials';
import { DockerRuntime } from './runtime/docker-runtime';
import { AppliedStateStore } from './state/applied-store';
import { systemClock } from './support/clock';
import { errorMessage, isTerminal } from './support/errors';
import { jsonLogger, type Logger } from './support/logger';
import { AGENT_VERSION } from './version';

/** Exit status for a configuration that no restart can fix (sysexits.h EX_CONFIG), so systemd can stop retrying. */
const EXIT_CONFIG = 78;
const SHUTDOWN_GRACE_MS = 10_000;

async function main(config: AgentConfig, logger: Logger): Promise<void> {
  const shutdown = new AbortController();
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      logger.info('shutting down', { signal });
      shutdown.abort();
    });
  }
  logger.info('starting', { version: AGENT_VERSION, provisioning: config.provisioningPath, stateDir: config.stateDir });

  const credential = await loadOrRegister({
    provisioningPath: config.provisioningPath,
    stateDir: config.stateDir,
    clock: systemClock,
    logger,
    signal: shutdown.signal,
  });
  if (shutdown.signal.aborted) return;

  const runtime = new DockerRuntime(new Docker());
  const agent = new Agent({
    runtime,
    store: new AppliedStateStore(config.stateDir),
    clock: systemClock,
    logger,
    collectInventory: () => collectInventory({ root: config.hostRoot }),
    sampleTelemetry: () => sampleTelemetry({ root: config.hostRoot }),
    settings: {
      telemetryIntervalMs: config.telemetryIntervalMs,
      reportIntervalMs: config.reportIntervalMs,
      reconcileIntervalMs: config.reconcileIntervalMs,
      healthTimeoutMs: config.healthTimeoutMs,
    },
  });
  const link = new MqttLink({
    credential,
    logger,
    heldRev: () => agent.heldRev(),
    onDesired: (desired) => agent.desire(desired),
    onCommand: (command) => agent.command(command),
    onConnect: () => agent.onConnected(),
  });
  await agent.start(link);
  link.start();
  logger.info('running', { deviceId: credential.deviceId, mqttUrl: credential.mqttUrl });

  await new Promise<void>((resolve) => shutdown.signal.addEventListener('abort', () => resolve(), { once: true }));
  // Containers are left running on purpose: the device keeps serving while the agent is away.
  const grace = new Promise<void>((resolve) => setTimeout(resolve, SHUTDOWN_GRACE_MS).unref());
  await Promise.race([agent.stop(), grace]);
  await Promise.race([link.stop(), grace]);
  logger.info('stopped');
}

function fail(logger: Logger, err: unknown): never {
  logger.error('fatal', { error: errorMessage(err), code: (err as { code?: string }).code });
  process.exit(isTerminal(err) ? EXIT_CONFIG : 1);
}

let config: AgentConfig;
try {
  config = readConfig(process.env);
} catch (err) {
  fail(jsonLogger(), err);
}
const logger = jsonLogger({ level: config.logLevel });
main(config, logger).then(
  () => process.exit(0),
  (err: unknown) => fail(logger, err),
);
