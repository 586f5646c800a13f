import 'reflect-metadata';
import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { LoggerService, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { MAX_MANIFEST_BYTES } from '@flotilla/shared';
import { AppModule } from './app.module';
import { loadOrCreateOperatorKey } from './auth/operator-key';
import { MqttServer } from './broker/mqtt-server';
import { DEFAULT_EMBEDDED_PG_PORT, type ControlPlaneConfig } from './config';
import { startEmbeddedPostgres } from './database/embedded-postgres';
import { securityHeaders } from './http/security-headers';
import { urlGuard } from './http/url-guard';
import { ComponentSeeder, type SeedOutcome } from './library/seed-components';

/** Media types under which `POST /api/v1/releases` accepts a raw `assembly.yaml`. */
export const MANIFEST_MEDIA_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml', 'text/plain'];

export interface RunningControlPlane {
  /** Where to reach the API from this machine (loopback when bound to all interfaces). */
  httpUrl: string;
  mqttUrl: string;
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
}

export async function startControlPlane(config: ControlPlaneConfig, options: StartOptions = {}): Promise<RunningControlPlane> {
  await mkdir(config.dataDir, { recursive: true });
  const operatorKey = await loadOrCreateOperatorKey(config.dataDir, config.apiKey);
  const database = await openDatabase(config);

  let app: NestExpressApplication | undefined;
  try {
    app = await NestFactory.create<NestExpressApplication>(
      AppModule.forRoot({
        databaseUrl: database.url,
        apiKey: operatorKey.key,
        dataDir: config.dataDir,
        ...(config.signingKeyHorizon ? { signingKeyHorizon: config.signingKeyHorizon } : {}),
        ...(config.limits ? { limits: config.limits } : {}),
        ...(config.publicApiUrl ? { publicApiUrl: config.publicApiUrl } : {}),
        broker: { host: config.host, port: config.mqttPort, ...(config.publicMqttUrl ? { publicUrl: config.publicMqttUrl } : {}) },
      }),
      { logger: options.logger ?? options.logLevels ?? ['warn', 'error'], abortOnError: false },
    );
    // Before the body parsers, so that their errors carry the headers too.
    app.disable('x-powered-by');
    app.use(securityHeaders);
    app.use(urlGuard);
    app.useBodyParser('text', { type: MANIFEST_MEDIA_TYPES, limit: MAX_MANIFEST_BYTES });
    await app.listen(config.port, config.host);
  } catch (e) {
    await app?.close().catch(() => undefined);
    await database.stop();
    throw e;
  }

  const running = app;
  const seeded = config.componentsDir ? await running.get(ComponentSeeder).seed(config.componentsDir) : [];
  const reachableHost = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const httpPort = (running.getHttpServer().address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    httpUrl: `http://${reachableHost}:${httpPort}`,
    mqttUrl: `mqtt://${reachableHost}:${running.get(MqttServer).port}`,
    apiKey: operatorKey.key,
    ...(operatorKey.path ? { apiKeyFile: { path: operatorKey.path, generated: operatorKey.generated } } : {}),
    dataDir: config.dataDir,
    database: database.info,
    seeded,
    app: running,
    close: () =>
      (closing ??= (async () => {
        await running.close();
        await database.stop();
      })()),
  };
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
