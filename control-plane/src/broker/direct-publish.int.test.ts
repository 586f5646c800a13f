import { createServer, connect as tcpConnect, type AddressInfo, type Server, type Socket } from 'node:net';
import { deviceTopic } from '@flotilla/shared';
import { Aedes } from 'aedes';
import { connect, connectAsync, type MqttClient } from 'mqtt';
import { AedesDeviceBroker } from './aedes-device-broker';
import type { MqttServer } from './mqtt-server';

/**
 * Integration (real aedes, real MQTT over TCP): a desired state for a device connected here and
 * subscribed to its topic goes to that device's own client, outside the broker's topic matching,
 * with QoS 1 kept as before (held in the session until PUBACK, sent again on reconnect); a device
 * not subscribed gets nothing through that path, the broker's own publish decides.
 */
jest.setTimeout(30_000);

let aedes: Aedes;
let server: Server;
let port: number;
let broker: AedesDeviceBroker;
const clients: MqttClient[] = [];
const sockets: Socket[] = [];

beforeAll(async () => {
  aedes = await Aedes.createBroker();
  server = createServer((socket) => aedes.handle(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  // The listeners are not on the publish path; only status() reads them.
  broker = new AedesDeviceBroker(aedes, {} as MqttServer);
  broker.onModuleInit();
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true)));
  for (const s of sockets) s.destroy();
  await new Promise<void>((resolve) => aedes.close(() => resolve()));
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function device(id: string): Promise<MqttClient> {
  const client = await connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: id, clean: false, protocolVersion: 4, reconnectPeriod: 0 });
  clients.push(client);
  return client;
}

function nextMessage(client: MqttClient): Promise<{ topic: string; payload: string }> {
  return new Promise((resolve) => client.once('message', (topic, payload) => resolve({ topic, payload: payload.toString() })));
}

/** Topics the broker's own publish routed (aedes emits 'publish' for those only, before the publish settles). */
function routedTopics(): string[] {
  const topics: string[] = [];
  aedes.on('publish', (packet) => topics.push(packet.topic));
  return topics;
}

describe('desired state to a connected device', () => {
  it("is delivered on the device's own client, QoS 1, without the broker's routing", async () => {
    const client = await device('direct-1');
    await client.subscribeAsync(deviceTopic('direct-1', 'desired'), { qos: 1 });
    const routed = routedTopics();
    const received = nextMessage(client);
    await broker.publishToDevice('direct-1', 'desired', 'state-1');
    expect(await received).toEqual({ topic: deviceTopic('direct-1', 'desired'), payload: 'state-1' });
    expect(routed).not.toContain(deviceTopic('direct-1', 'desired'));
  });

  it('is kept in the session until the device acknowledges it, and sent again when it reconnects', async () => {
    const id = 'direct-2';
    // A device that subscribes, then reads its PUBLISH but never sends PUBACK.
    const raw = await rawDevice(id);
    const publish = raw.nextPacket();
    await broker.publishToDevice(id, 'desired', 'state-2');
    expect((await publish)[0]! >> 4).toBe(3); // PUBLISH
    raw.socket.destroy();
    await new Promise((resolve) => raw.socket.once('close', resolve));

    // Listening before the session resumes: aedes sends what it kept right after CONNACK.
    const client = connect(`mqtt://127.0.0.1:${port}`, { clientId: id, clean: false, protocolVersion: 4, reconnectPeriod: 0 });
    clients.push(client);
    const again = nextMessage(client);
    expect(await again).toEqual({ topic: deviceTopic(id, 'desired'), payload: 'state-2' });
  });

  it('goes through the broker, at QoS 0, to a device subscribed at QoS 0', async () => {
    const client = await device('direct-4');
    await client.subscribeAsync(deviceTopic('direct-4', 'desired'), { qos: 0 });
    const routed = routedTopics();
    const received = new Promise<number>((resolve) => client.once('message', (_topic, _payload, packet) => resolve(packet.qos)));
    await broker.publishToDevice('direct-4', 'desired', 'state-4');
    expect(await received).toBe(0);
    expect(routed).toContain(deviceTopic('direct-4', 'desired'));
  });

  it('goes through the broker, and not to the device, while the device has not subscribed', async () => {
    const client = await device('direct-3');
    const routed = routedTopics();
    const messages: string[] = [];
    client.on('message', (_topic, payload) => messages.push(payload.toString()));
    await broker.publishToDevice('direct-3', 'desired', 'before-subscribing');
    expect(routed).toContain(deviceTopic('direct-3', 'desired'));
    // Barrier: messages arrive in order on a connection, so once the next one is here the first would have been.
    await client.subscribeAsync(deviceTopic('direct-3', 'desired'), { qos: 1 });
    const next = nextMessage(client);
    await broker.publishToDevice('direct-3', 'desired', 'after-subscribing');
    await next;
    expect(messages).toEqual(['after-subscribing']);
  });
});

/** An MQTT 3.1.1 client written by hand (clean: false, subscribed to its desired topic) that never acknowledges. */
async function rawDevice(id: string): Promise<{ socket: Socket; nextPacket: () => Promise<Buffer> }> {
  const socket = tcpConnect(port, '127.0.0.1');
  sockets.push(socket);
  await new Promise((resolve) => socket.once('connect', resolve));
  const chunks: Buffer[] = [];
  let wake: (() => void) | undefined;
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    wake?.();
  });
  const nextPacket = async (): Promise<Buffer> => {
    while (chunks.length === 0) await new Promise<void>((resolve) => (wake = resolve));
    return chunks.shift()!;
  };
  // CONNECT: protocol level 4, flags clean session 0, keepalive 60.
  socket.write(packet(0x10, Buffer.concat([str('MQTT'), Buffer.from([4, 0x00, 0, 60]), str(id)])));
  await nextPacket(); // CONNACK
  socket.write(packet(0x82, Buffer.concat([Buffer.from([0, 1]), str(deviceTopic(id, 'desired')), Buffer.from([1])])));
  await nextPacket(); // SUBACK
  return { socket, nextPacket };
}

const str = (s: string): Buffer => Buffer.concat([Buffer.from([Buffer.byteLength(s) >> 8, Buffer.byteLength(s) & 0xff]), Buffer.from(s)]);
function packet(firstByte: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([firstByte, body.length]), body]); // bodies here are under 128 bytes
}
