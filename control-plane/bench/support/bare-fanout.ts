import { createServer } from 'node:net';
import { Aedes } from 'aedes';

/**
 * The rollout bench's baseline, as a child process: a bare aedes 1.2 broker (no authentication,
 * no persistence options) that, when told, publishes `count` distinct messages of `bytes` bytes,
 * one to each `bare/<i>` topic, QoS 1, with as many in flight as the control plane's fan-out
 * (devices.service.ts). Reports the time it took over IPC. Args: PORT.
 */
const IN_FLIGHT = 50;

async function main(): Promise<void> {
  const broker = await Aedes.createBroker();
  const server = createServer((socket) => broker.handle(socket));
  await new Promise<void>((resolve) => server.listen(Number(process.argv[2]), '127.0.0.1', resolve));
  process.on('message', (m: { count: number; bytes: number }) => {
    const t0 = performance.now();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < m.count) {
        const i = next++;
        // Distinct per device, as each device's signed desired state is.
        const payload = Buffer.alloc(m.bytes, `${i}:`);
        await new Promise<void>((resolve, reject) =>
          broker.publish({ cmd: 'publish', topic: `bare/${i}`, payload, qos: 1, retain: false, dup: false }, (e) =>
            e ? reject(e) : resolve(),
          ),
        );
      }
    };
    void Promise.all(Array.from({ length: IN_FLIGHT }, worker)).then(() => process.send!({ publishedMs: performance.now() - t0 }));
  });
  process.send!('ready');
}

main().catch((e: Error) => {
  console.error(e.stack ?? e.message);
  process.exit(1);
});
