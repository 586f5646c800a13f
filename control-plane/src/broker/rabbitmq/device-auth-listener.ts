import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { DeviceLinkService } from '../../devices/device-link.service';
import { CONNECTION_BOUNDS, httpServerOptions } from '../../limits/connection-bounds';
import { loginShape, resourceDecision, topicDecision, vhostDecision, type Verdict } from './device-auth';
import { RABBITMQ_SETTINGS, type RabbitMqSettings } from './rabbitmq-settings';

/** Form bodies of the auth backend are a few hundred bytes; anything larger is not RabbitMQ. */
const MAX_BODY_BYTES = 8 * 1024;

/**
 * The routes RabbitMQ's HTTP auth backend calls (`auth_http.*_path = http://<this>/user` …), on a
 * listener of their own bound to a private interface: they answer "allow"/"deny" for any device id,
 * so they must not be reachable by devices or operators. Answered from memory (the decisions of
 * device-auth.ts) except the login, which checks the device's password, or for a certificate login
 * that the device is still registered, as the embedded broker does.
 */
@Injectable()
export class DeviceAuthListener implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('BrokerAuth');
  private server: Server | undefined;

  constructor(
    @Inject(RABBITMQ_SETTINGS) private readonly settings: RabbitMqSettings,
    private readonly link: DeviceLinkService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // Private, but a stuck or slow client there must not hold sockets either.
    const server = createServer(httpServerOptions(CONNECTION_BOUNDS), (req, res) => void this.serve(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.settings.authListener.port, this.settings.authListener.host, () => resolve());
    });
    this.server = server;
  }

  async beforeApplicationShutdown(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = undefined;
  }

  get port(): number {
    if (!this.server) throw new Error('the broker auth listener is not listening');
    return (this.server.address() as AddressInfo).port;
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let verdict: Verdict;
    try {
      const form = await readForm(req);
      verdict = await this.decide(new URL(req.url ?? '/', 'http://auth').pathname, form);
    } catch (e) {
      // Not a refusal: RabbitMQ counts an error as a failed check and the device retries later.
      res.writeHead(503).end((e as Error).message);
      return;
    }
    if (!verdict.allow) this.logger.debug?.(`refused ${req.url}: ${verdict.reason}`);
    res.writeHead(200, { 'content-type': 'text/plain' }).end(verdict.allow ? 'allow' : 'deny');
  }

  private async decide(path: string, form: URLSearchParams): Promise<Verdict> {
    const username = form.get('username') ?? '';
    switch (path) {
      case '/user': {
        const shape = loginShape(username, form.get('client_id') ?? undefined);
        if (!shape.allow) return shape;
        const password = form.get('password');
        // No password field at all: RabbitMQ asks so only for a certificate login (`mqtt.ssl_cert_login`,
        // username = the subject of a client certificate its TLS listener verified against the device
        // CA). Every password login sends the field, empty or not; no other login that omits it
        // (AMQP's EXTERNAL mechanism) is enabled on the nodes.
        const outcome =
          password === null ? await this.link.checkCertificateHolder(username) : await this.link.checkCredentials(username, password);
        return outcome === 'accepted' ? { allow: true } : { allow: false, reason: outcome };
      }
      case '/vhost':
        return vhostDecision(form.get('vhost') ?? '', this.settings.vhost, username, form.get('client_id') ?? undefined);
      case '/resource':
        return resourceDecision(username, form.get('resource') ?? '', form.get('name') ?? '', form.get('permission') ?? '');
      case '/topic':
        return topicDecision(username, form.get('name') ?? '', form.get('permission') ?? '', form.get('routing_key') ?? '');
      default:
        return { allow: false, reason: `unknown path ${path}` };
    }
  }
}

function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) return void req.destroy(new Error('request body too large'));
      chunks.push(chunk);
    });
    req.on('end', () => resolve(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
}
