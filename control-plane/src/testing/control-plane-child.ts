/**
 * The control plane in a child process of its own, for tests that measure its memory: started
 * with `--expose-gc`, configured by the environment (as `npm start`), and answering over IPC:
 * 'memory' → `process.memoryUsage()` after forcing garbage collection; 'stop' → an orderly stop.
 */
import { startControlPlane } from '../bootstrap';
import { loadConfig } from '../config';

export type ChildMessage = { ready: { httpUrl: string; mqttUrl: string; apiKey: string } } | { memory: NodeJS.MemoryUsage };

async function main(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('start this with node --expose-gc');
  const cp = await startControlPlane(loadConfig(), { logLevels: ['error'] });
  const send = (m: ChildMessage): void => void process.send!(m);
  process.on('message', (m) => {
    if (m === 'memory') {
      gc();
      gc();
      send({ memory: process.memoryUsage() });
    } else if (m === 'stop') {
      void cp.close().then(() => process.exit(0));
    }
  });
  send({ ready: { httpUrl: cp.httpUrl, mqttUrl: cp.mqttUrl, apiKey: cp.apiKey } });
}

main().catch((e: Error) => {
  console.error(e.stack ?? e.message);
  process.exit(1);
});
