import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export interface FailoverProxy {
  port: number;
  url(scheme: string): string;
  close(): Promise<void>;
}

/**
 * A TCP proxy on 127.0.0.1 that sends each new connection to the first of `targets()` that accepts
 * it, as a load balancer with health checks does: a device or RabbitMQ's auth backend reaches
 * whichever node or replica is up. Open connections are closed with the proxy.
 */
export async function startFailoverProxy(targets: () => number[]): Promise<FailoverProxy> {
  const sockets = new Set<Socket>();
  const track = (s: Socket): void => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  };
  const server: Server = createServer((client) => {
    track(client);
    client.pause();
    const tryTarget = (ports: number[]): void => {
      const [port, ...rest] = ports;
      if (port === undefined) return void client.destroy();
      const upstream = connect(port, '127.0.0.1');
      let connected = false;
      upstream.on('error', () => (connected ? client.destroy() : tryTarget(rest)));
      upstream.once('connect', () => {
        connected = true;
        track(upstream);
        client.on('error', () => upstream.destroy());
        client.pipe(upstream).pipe(client);
        upstream.once('close', () => client.destroy());
        client.once('close', () => upstream.destroy());
        client.resume();
      });
    };
    tryTarget(targets());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: (scheme) => `${scheme}://127.0.0.1:${port}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
