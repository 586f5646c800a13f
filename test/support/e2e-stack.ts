import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startControlPlane, type RunningControlPlane } from '../../control-plane/src/bootstrap';
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

export async function startE2eStack(name: string, apiKey: string): Promise<E2eStack> {
  const workDir = mkdtempSync(join(tmpdir(), `flotilla-e2e-${name}-`));
  const db = await createScratchDatabase(`e2e_${name}`);
  const cp = await startControlPlane({
    host: '127.0.0.1',
    port: 0,
    mqttPort: 0,
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
