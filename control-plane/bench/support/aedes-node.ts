import { createServer } from 'node:net';
import { Aedes } from 'aedes';
import MqEmitterRedis from 'mqemitter-redis';

/**
 * One aedes 1.2 broker node as a child process of the brokers benchmark:
 *   aedes-node PORT [REDIS_URL]
 * With REDIS_URL the nodes route every publication through Redis pub/sub (mqemitter-redis),
 * which is how aedes clusters: each node still holds its own clients and sessions.
 * Sends 'ready' over IPC once listening.
 */
async function main(): Promise<void> {
  const [port, redisUrl] = process.argv.slice(2);
  const mq = redisUrl ? MqEmitterRedis({ connectionString: redisUrl }) : undefined;
  const broker = await Aedes.createBroker({ ...(mq ? { mq } : {}), drainTimeout: 5000 });
  const server = createServer((socket) => broker.handle(socket));
  await new Promise<void>((resolve) => server.listen(Number(port), '127.0.0.1', resolve));
  process.send!('ready');
}

main().catch((e: Error) => {
  console.error(e.stack ?? e.message);
  process.exit(1);
});
