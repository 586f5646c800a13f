import { createServer } from 'node:net';
import { ALL_DEVICES_UPLINK, decodePayload, parseDeviceTopic } from '@flotilla/shared';
import { Aedes } from 'aedes';
import { connectAsync } from 'mqtt';
import { DataSource } from 'typeorm';
import { TelemetryIngest } from '../../src/telemetry/telemetry-ingest';
import { DEFAULT_TELEMETRY_SETTINGS } from '../../src/telemetry/telemetry-settings';
import { TelemetryRepository } from '../../src/telemetry/telemetry.repository';

/**
 * One side of the side-by-side benchmark, as a child process:
 *   aedes PORT DATABASE_URL      — aedes 1.2 in this process, telemetry taken by an in-process
 *                                  subscription (as the control plane does);
 *   subscriber URL DATABASE_URL  — an MQTT client of an external broker (Mosquitto), QoS 1.
 * Either way each sample goes through the control plane's own TelemetryIngest (1 s / 1,000-row
 * batches) and TelemetryRepository.copyBatch into PostgreSQL. Stats go to the parent over IPC.
 */
/** What the one subscriber takes: every device's telemetry channel. */
const TELEMETRY_TOPIC = ALL_DEVICES_UPLINK.replace(/#$/, 'telemetry');

async function main(): Promise<void> {
  const [mode, where, databaseUrl] = process.argv.slice(2);
  const db = await new DataSource({ type: 'postgres', url: databaseUrl, extra: { max: 4 } }).initialize();
  // Rows the database refuses alone are only counted here (stats.dropped); there is no device history to tell.
  const ingest = new TelemetryIngest(new TelemetryRepository(db), DEFAULT_TELEMETRY_SETTINGS, {
    record: async () => undefined,
    refused: () => undefined,
  });
  ingest.onModuleInit();
  const take = (topic: string, payload: Buffer): void => {
    const parsed = parseDeviceTopic(topic);
    if (parsed?.channel !== 'telemetry') return;
    const decoded = decodePayload('telemetry', payload);
    if (decoded.ok) ingest.add(parsed.deviceId, decoded.value);
  };
  if (mode === 'aedes') {
    const broker = await Aedes.createBroker();
    broker.subscribe(
      TELEMETRY_TOPIC,
      (packet, done) => {
        done();
        take(packet.topic, Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload));
      },
      () => undefined,
    );
    const server = createServer((socket) => broker.handle(socket));
    await new Promise<void>((resolve) => server.listen(Number(where), '127.0.0.1', resolve));
  } else {
    const client = await connectAsync(where!, { clientId: 'bench-ingest', protocolVersion: 4, clean: true });
    client.on('message', (topic, payload) => take(topic, payload));
    await client.subscribeAsync(TELEMETRY_TOPIC, { qos: 1 });
  }
  process.on('message', (m: string) => {
    if (m === 'stats') process.send!({ ...ingest.stats });
  });
  process.send!('ready');
}

main().catch((e: Error) => {
  console.error(e.stack ?? e.message);
  process.exit(1);
});
