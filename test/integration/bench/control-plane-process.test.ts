import { createServer, type Server } from 'node:net';
import { ControlPlaneProcess, freePorts, PortTakenError, type CpPorts } from '../../../control-plane/bench/support/control-plane-process';

jest.setTimeout(120_000);

/** Holds a port as another process on the box would, between the bench's pick and its child's bind. */
async function holdPort(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port };
}

describe("the benchmarks' control-plane child process", () => {
  let held: { server: Server; port: number };
  let cp: ControlPlaneProcess | undefined;
  beforeEach(async () => {
    held = await holdPort();
  });
  afterEach(async () => {
    await cp?.close();
    cp = undefined;
    await new Promise((resolve) => held.server.close(resolve));
  });

  it('starts on other ports when one it was given is taken before it binds', async () => {
    const picked: CpPorts[] = [];
    const pickPorts = async (): Promise<CpPorts> => {
      const ports = picked.length === 0 ? { ...(await freePorts()), mqtt: held.port } : await freePorts();
      picked.push(ports);
      return ports;
    };
    cp = await ControlPlaneProcess.start({ pickPorts });
    expect(picked).toHaveLength(2);
    expect(cp.mqttUrl).toBe(`mqtt://127.0.0.1:${picked[1]!.mqtt}`);
    const health = await fetch(`${cp.httpUrl}/healthz`);
    expect(health.status).toBe(200);
  });

  it('names the taken port when every attempt finds it taken', async () => {
    const pickPorts = async (): Promise<CpPorts> => ({ ...(await freePorts()), mqtt: held.port });
    const start = ControlPlaneProcess.start({ pickPorts });
    await expect(start).rejects.toBeInstanceOf(PortTakenError);
    await expect(start).rejects.toMatchObject({ port: held.port });
  });
});
