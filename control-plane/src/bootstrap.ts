import 'reflect-metadata';
import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Logger, type LoggerService, type LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule, type DeviceTrust } from './app.module';
import { loadOrCreateOperatorKey } from './auth/operator-key';
import { MQTT_WEBSOCKET_PATH, MqttServer, type BrokerSettings } from './broker/mqtt-server';
import type { WaitingListeners } from './broker/waiting-listeners';
import { DEFAULT_EMBEDDED_PG_PORT, type ControlPlaneConfig } from './config';
import { sweepStaleTemps } from './data-dir/data-file';
import { startEmbeddedPostgres } from './database/embedded-postgres';
import { useBodyParsers } from './http/body-parsers';
import { BoundedExpressAdapter } from './http/bounded-express-adapter';
import { securityHeaders } from './http/security-headers';
import { refusingNonUrls, urlGuard } from './http/url-guard';
import { AddressConnections } from './limits/address-connections';
import { SendStallWatch } from './limits/send-stall-watch';
import { CONNECTION_BOUNDS, type ConnectionBounds } from './limits/connection-bounds';
import { DEFAULT_DEVICE_LIMITS } from './limits/device-limits';
import { LimitStats } from './limits/limit-stats';
import { ComponentSeeder, type SeedOutcome } from './library/seed-components';
import { listenHttps, type HttpsListener } from './tls/https-server';
import { loadOrCreateTlsMaterial, TLS_DIR, type TlsMaterial } from './tls/tls-material';
import { SIGNING_KEYS_DIR } from './signing/key-store';
import type { Clock } from './rollouts/rollout-settings';

export interface RunningControlPlane {
  /** Where to reach the plain API from this machine (loopback when bound to all interfaces). */
  httpUrl: string;
  /** The plain MQTT listener (with an external broker: where devices connect). */
  mqttUrl: string;
  /** The TLS listeners and what devices pin, when TLS is on (and not terminated by a proxy). */
  tls?: {
    httpsUrl: string;
    mqttsUrl: string;
    /** MQTT over secure WebSocket, on the HTTPS port. */
    mqttWssUrl: string;
    caCertificates: string[];
    /** SHA-256 of the server certificate. */
    fingerprint: string;
    /** Files of `<dataDir>/tls` this start created. */
    created: string[];
  };
  apiKey: string;
  /** Set when this start generated the operator key (print it once) or read it from the data directory. */
  apiKeyFile?: { path: string; generated: boolean };
  dataDir: string;
  /** What start-up put into the component library from `config.componentsDir`. */
  seeded: SeedOutcome[];
  database: { kind: 'external' } | { kind: 'embedded'; port: number; dir: string; created: boolean };
  /** The Nest application, for tests that read its route table or services. */
  app: NestExpressApplication;
  /** Stops the broker (devices disconnect), the HTTP server, the pool, then an embedded PostgreSQL. Idempotent. */
  close(): Promise<void>;
}

export interface StartOptions {
  /** Nest log levels; tests pass fewer. */
  logLevels?: LogLevel[];
  /** Where log lines go instead of the console (with every level), e.g. to count them. */
  logger?: LoggerService;
  /** The rollout engine's time (tests simulate it to cross maintenance windows); default the system's. */
  clock?: Clock;
  /** The MQTT ports, opened by the caller before this start and holding the connections made meanwhile (the caller closes them if it fails). */
  waitingMqtt?: WaitingListeners;
  /** How long a slow client may hold a connection on each listener; tests shorten them. */
  connectionBounds?: ConnectionBounds;
  /** How often an open event stream re-reads whether its key was revoked elsewhere (default 10 s); tests shorten it. */
  keyRecheckMs?: number;
  /** How far back the dashboard's change feed reads before its last read (default 3 s); tests shorten it. */
  feedOverlapMs?: number;
}

export async function startControlPlane(config: ControlPlaneConfig, options: StartOptions = {}): Promise<RunningControlPlane> {
  await mkdir(config.dataDir, { recursive: true });
  const operatorKey = await loadOrCreateOperatorKey(config.dataDir, config.apiKey);
  const material = config.tls ? await loadOrCreateTlsMaterial(config.dataDir, config.tls.source) : undefined;
  const database = await openDatabase(config);
  const plainHost = config.plainHost ?? config.host;
  const bounds = options.connectionBounds ?? CONNECTION_BOUNDS;
  const httpConnections = new AddressConnections(config.limits?.maxConnectionsPerAddress ?? DEFAULT_DEVICE_LIMITS.maxConnectionsPerAddress);
  const httpStalls = new SendStallWatch(bounds);

  let app: NestExpressApplication | undefined;
  let https: HttpsListener | undefined;
  try {
    const server = material?.server && { ...material.server, deviceCaPem: material.deviceCa.certPem };
    https = server && (await listenHttps({ host: config.host, port: config.tls!.httpsPort }, server, bounds));
    if (https) {
      httpConnections.watch(https.server);
      httpStalls.watchServer(https.server);
    }
    const broker: BrokerSettings = {
      host: plainHost,
      port: config.mqttPort,
      bounds,
      ...(config.publicMqttUrl ? { publicUrl: config.publicMqttUrl } : {}),
      ...(server ? { tls: { ...server, host: config.host, port: config.tls!.mqttsPort } } : {}),
      ...(config.rabbitmq ? { rabbitmq: config.rabbitmq } : {}),
      ...(options.waitingMqtt ? { waiting: options.waitingMqtt } : {}),
    };
    app = await NestFactory.create<NestExpressApplication>(
      AppModule.forRoot({
        databaseUrl: database.url,
        ...(config.databasePool ? { databasePool: config.databasePool } : {}),
        apiKey: operatorKey.key,
        ...(options.keyRecheckMs ? { keyRecheckMs: options.keyRecheckMs } : {}),
        ...(options.feedOverlapMs ? { feedOverlapMs: options.feedOverlapMs } : {}),
        dataDir: config.dataDir,
        ...(config.signingKeyHorizon ? { signingKeyHorizon: config.signingKeyHorizon } : {}),
        ...(config.limits ? { limits: config.limits } : {}),
        ...(config.rollouts ? { rollouts: config.rollouts } : {}),
        ...(config.publicApiUrl ? { publicApiUrl: config.publicApiUrl } : {}),
        broker,
        ...(options.clock ? { clock: options.clock } : {}),
        ...(material ? { deviceTrust: deviceTrust(material, https) } : {}),
      }),
      new BoundedExpressAdapter(bounds),
      // The body parsers are this file's (useBodyParsers), so that a guard can follow them.
      { logger: options.logger ?? options.logLevels ?? ['warn', 'error'], abortOnError: false, bodyParser: false },
    );
    const stats = app.get(LimitStats);
    httpConnections.onRefused = () => stats.count('httpConnectionsRefused', {});
    httpConnections.watch(app.getHttpServer());
    httpStalls.onCut = () => stats.count('sendStalled', { listener: 'http' });
    httpStalls.watchServer(app.getHttpServer());
    // Before the body parsers, so that their errors carry the headers too.
    app.disable('x-powered-by');
    app.use(securityHeaders);
    app.use(urlGuard);
    useBodyParsers(app);
    await app.listen(config.port, plainHost);
    if (https) {
      // With an external broker, devices reach its MQTT listeners, not this process.
      if (!config.rabbitmq) app.get(MqttServer).attachWebSocket(https.server);
      https.serve(refusingNonUrls(app.getHttpAdapter().getInstance()));
    }
  } catch (e) {
    httpStalls.stop();
    await https?.close();
    await app?.close().catch(() => undefined);
    await database.stop();
    throw e;
  }

  const running = app;
  const secure = https;
  await sweepDataDir(config.dataDir);
  const seeded = config.componentsDir ? await running.get(ComponentSeeder).seed(config.componentsDir) : [];
  const reachable = (host: string): string => (host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host);
  const httpPort = (running.getHttpServer().address() as AddressInfo).port;
  const mqtt = config.rabbitmq ? undefined : running.get(MqttServer);
  const deviceUrl = config.rabbitmq?.deviceMqttUrl;
  let closing: Promise<void> | undefined;
  return {
    httpUrl: `http://${reachable(plainHost)}:${httpPort}`,
    mqttUrl: mqtt ? `mqtt://${reachable(plainHost)}:${mqtt.port}` : deviceUrl!,
    ...(secure && material?.server
      ? {
          tls: {
            httpsUrl: `https://${reachable(config.host)}:${secure.port}`,
            mqttsUrl: mqtt ? `mqtts://${reachable(config.host)}:${mqtt.securePort!}` : deviceUrl!,
            mqttWssUrl: mqtt ? `wss://${reachable(config.host)}:${secure.port}${MQTT_WEBSOCKET_PATH}` : deviceUrl!,
            caCertificates: material.caCertificates,
            fingerprint: material.server.fingerprint,
            created: material.created,
          },
        }
      : {}),
    apiKey: operatorKey.key,
    ...(operatorKey.path ? { apiKeyFile: { path: operatorKey.path, generated: operatorKey.generated } } : {}),
    dataDir: config.dataDir,
    database: database.info,
    seeded,
    app: running,
    close: () =>
      (closing ??= (async () => {
        httpStalls.stop();
        await secure?.close();
        await running.close();
        await database.stop();
      })()),
  };
}

/**
 * The temporary files a power cut between write and rename left in the dirs `writeDurable` writes
 * in (data-file.ts), once the logger is the app's; a sweep that fails costs only their space.
 */
async function sweepDataDir(dataDir: string): Promise<void> {
  const logger = new Logger('DataDir');
  for (const dir of [dataDir, join(dataDir, TLS_DIR), join(dataDir, SIGNING_KEYS_DIR)]) {
    try {
      const removed = await sweepStaleTemps(dir);
      if (removed.length > 0)
        logger.log(`removed ${removed.length} temporary files a write cut short left in ${dir}: ${removed.join(', ')}`);
    } catch (e) {
      logger.warn(`could not remove the temporary files a write cut short left in ${dir}: ${(e as Error).message}`);
    }
  }
}

function deviceTrust(material: TlsMaterial, https: HttpsListener | undefined): DeviceTrust {
  // Behind a TLS-terminating proxy the broker never sees a client certificate: no device CA then.
  return https
    ? { caCertificates: material.caCertificates, httpsPort: https.port, deviceCa: material.deviceCa }
    : { caCertificates: material.caCertificates, deviceCa: null };
}

interface OpenDatabase {
  url: string;
  info: RunningControlPlane['database'];
  stop(): Promise<void>;
}

async function openDatabase(config: ControlPlaneConfig): Promise<OpenDatabase> {
  if (config.databaseUrl) return { url: config.databaseUrl, info: { kind: 'external' }, stop: async () => undefined };
  const dir = join(config.dataDir, 'postgres');
  const port = config.embeddedPgPort ?? DEFAULT_EMBEDDED_PG_PORT;
  const pg = await startEmbeddedPostgres({
    dir,
    port,
    passwordFile: join(config.dataDir, 'postgres-password'),
    database: 'flotilla',
    // PostgreSQL's own chatter; the last lines are kept and shown if it fails to start.
    log: () => undefined,
  });
  return { url: pg.url, info: { kind: 'embedded', port, dir, created: pg.created }, stop: () => pg.stop() };
}
