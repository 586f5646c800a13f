import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP front for tests, standing where a load balancer stands: each new connection goes to the
 * port `target` names at that moment; `null` refuses connections. `cut()` ends the open ones.
 */
export interface TcpSwitch {
  url: string;
  target: number | null;
  cut(): void;
  close(): Promise<void>;
}

export async function startTcpSwitch(target: number | null): Promise<TcpSwitch> {
  const open = new Set<Socket>();
  const front: TcpSwitch = {
    url: '',
    target,
    cut: () => {
      for (const s of open) s.destroy();
    },
    close: () => {
      front.cut();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer((client) => {
    if (front.target === null) return void client.destroy();
    const upstream = connect(front.target, '127.0.0.1');
    for (const s of [client, upstream]) {
      open.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        open.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  front.url = `mqtt://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return front;
}
