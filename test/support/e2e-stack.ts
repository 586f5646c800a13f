import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startControlPlane, type RunningControlPlane } from '../../control-plane/src/bootstrap';
import type { ControlPlaneConfig } from '../../control-plane/src/config';
import { ApiClient } from './api-client';
import { createScratchDatabase, type ScratchDatabase } from './database';

/**
 * What an end-to-end test with one real agent stands on: a work directory, a scratch database,
 * a control plane on free ports with one admin key, and an API client. What the agent started on
 * the engine is its own to remove (`AgentProcess.dispose`).
 */
export interface E2eStack {
  workDir: string;
  db: ScratchDatabase;
  cp: RunningControlPlane;
  api: ApiClient;
  apiKey: string;
}

/** Settings a test adds to the stack's control plane (its addresses, database, data directory and key are the stack's). */
export type E2eControlPlaneSettings = Partial<Omit<ControlPlaneConfig, 'databaseUrl' | 'dataDir' | 'apiKey'>>;

/**
 * HTTPS and MQTT over TLS on free ports, with a CA the control plane generates in its data
 * directory (`cp.tls.caCertificates`, what provisioning files pin); devices get the TLS
 * addresses, the plain listeners stay for the operator API.
 */
export const GENERATED_TLS = {
  plainHost: '127.0.0.1',
  tls: { source: { kind: 'generated', extraNames: [] }, httpsPort: 0, mqttsPort: 0 },
} satisfies E2eControlPlaneSettings;

export async function startE2eStack(name: string, apiKey: string, settings: E2eControlPlaneSettings = {}): Promise<E2eStack> {
  const workDir = mkdtempSync(join(tmpdir(), `flotilla-e2e-${name}-`));
  const db = await createScratchDatabase(`e2e_${name}`);
  const cp = await startControlPlane({
    host: '127.0.0.1',
    port: 0,
    mqttPort: 0,
    ...settings,
    databaseUrl: db.url,
    dataDir: join(workDir, 'cp'),
    apiKey,
  });
  return { workDir, db, cp, api: new ApiClient(cp.httpUrl, apiKey), apiKey };
}

export async function stopE2eStack(stack: E2eStack | undefined): Promise<void> {
  await stack?.cp.close();
  await stack?.db.drop();
  if (stack) rmSync(stack.workDir, { recursive: true, force: true });
}
