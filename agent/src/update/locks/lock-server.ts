import { chmod, unlink } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { z } from 'zod';
import { MAX_LOCK_DEFER_SECONDS } from '@flotilla/shared/device';
import type { Clock } from '../../support/clock';
import { errorMessage } from '../../support/errors';
import type { Logger } from '../../support/logger';
import { LOCK_SOCKET, type UpdateLock } from './lock';
import type { LockStore } from './lock-store';

/**
 * The lock socket's protocol: one JSON line in, one JSON line out (as `nc -U` or `socat` send it).
 *   {"op":"lock","holder":"print job 42","ttlSeconds":600}   takes or renews the component's lock
 *   {"op":"unlock"}                                           releases it
 *   {"op":"status"}                                           the component's locks
 * The component is not named: it is the one whose directory holds the socket.
 */
export const LockRequest = z.discriminatedUnion('op', [
  z.object({
    op: z.literal('lock'),
    holder: z.string().max(128).default(''),
    ttlSeconds: z.number().int().positive().max(MAX_LOCK_DEFER_SECONDS),
  }),
  z.object({ op: z.literal('unlock') }),
  z.object({ op: z.literal('status') }),
]);
export type LockRequest = z.infer<typeof LockRequest>;

const MAX_REQUEST_BYTES = 4096;

export interface LockServerDeps {
  store: LockStore;
  clock: Clock;
  logger: Logger;
  /** A lock was taken or released: the updater looks again at once. */
  onChange: () => void;
}

/** One unix socket per component that asked for update locks, each in that component's lock directory. */
export class LockServer {
  private readonly servers = new Map<string, Server>();

  constructor(private readonly deps: LockServerDeps) {}

  /** Serves exactly these components: starts the missing sockets, closes the others. */
  async serve(components: readonly string[]): Promise<void> {
    for (const [component, server] of this.servers) {
      if (components.includes(component)) continue;
      this.servers.delete(component);
      await close(server);
    }
    for (const component of components) {
      if (this.servers.has(component)) continue;
      const path = join(await this.deps.store.ensureDir(component), LOCK_SOCKET);
      // A socket left by a killed agent would make listen() fail with EADDRINUSE.
      await unlink(path).catch(() => undefined);
      const server = createServer((socket) => this.accept(component, socket));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(path, () => resolve());
      });
      // Any user inside the component may lock; nobody else has the directory.
      await chmod(path, 0o666);
      this.servers.set(component, server);
    }
  }

  /** Serves this component too (its directory is being mounted into a new container). */
  async ensure(component: string): Promise<void> {
    await this.serve([...this.servers.keys(), component]);
  }

  async stop(): Promise<void> {
    await this.serve([]);
  }

  private accept(component: string, socket: Socket): void {
    let buffer = '';
    socket.setEncoding('utf8');
    socket.on('error', () => undefined);
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      if (buffer.length > MAX_REQUEST_BYTES) return void socket.end(JSON.stringify({ ok: false, error: 'request too large' }) + '\n');
      const newline = buffer.indexOf('\n');
      if (newline < 0) return;
      const line = buffer.slice(0, newline);
      buffer = '';
      void this.handle(component, line).then((r) => socket.end(JSON.stringify(r) + '\n'));
    });
  }

  private async handle(component: string, line: string): Promise<{ ok: true; result: unknown } | { ok: false; error: string }> {
    let request: LockRequest;
    try {
      const parsed = LockRequest.safeParse(JSON.parse(line));
      if (!parsed.success) return { ok: false, error: `invalid request: ${parsed.error.issues.map((i) => i.message).join('; ')}` };
      request = parsed.data;
    } catch (err) {
      return { ok: false, error: `invalid request: ${errorMessage(err)}` };
    }
    try {
      switch (request.op) {
        case 'lock': {
          const now = this.deps.clock.now().getTime();
          const lock = await this.deps.store.take(component, request.holder || component, now + request.ttlSeconds * 1000);
          this.deps.logger.info('update lock taken', { component, holder: request.holder, ttlSeconds: request.ttlSeconds });
          this.deps.onChange();
          return { ok: true, result: lock && view(lock) };
        }
        case 'unlock': {
          const [lock] = (await this.deps.store.list([component])).filter((l) => l.via === 'api');
          const released = lock ? await this.deps.store.release(lock) : false;
          this.deps.logger.info('update lock released', { component, released });
          this.deps.onChange();
          return { ok: true, result: { released } };
        }
        case 'status':
          return { ok: true, result: (await this.deps.store.list([component])).map(view) };
      }
    } catch (err) {
      return { ok: false, error: errorMessage(err) };
    }
  }
}

function view(lock: UpdateLock): Record<string, unknown> {
  return { ...lock, since: new Date(lock.since).toISOString(), expiresAt: new Date(lock.expiresAt).toISOString() };
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
