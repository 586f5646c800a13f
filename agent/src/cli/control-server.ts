import { chmod, unlink } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { PROTOCOL_SCHEMA } from '@flotilla/shared/device';
import type { Agent } from '../agent';
import { errorMessage } from '../support/errors';
import type { Logger } from '../support/logger';
import { ControlRequest, type ControlReply } from './protocol';

const MAX_REQUEST_BYTES = 512 * 1024;

/** Serves the local CLI on a unix socket (see `protocol.ts`). */
export class ControlServer {
  private server: Server | undefined;

  constructor(
    private readonly agent: Agent,
    private readonly path: string,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    // A socket file left by a killed agent would make listen() fail with EADDRINUSE.
    await unlink(this.path).catch(() => undefined);
    const server = createServer((socket) => this.serve(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.path, () => resolve());
    });
    await chmod(this.path, 0o600);
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private serve(socket: Socket): void {
    let buffer = '';
    socket.setEncoding('utf8');
    socket.on('error', () => undefined);
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      if (buffer.length > MAX_REQUEST_BYTES) return void socket.end(reply({ ok: false, error: 'request too large' }));
      const newline = buffer.indexOf('\n');
      if (newline < 0) return;
      const line = buffer.slice(0, newline);
      buffer = '';
      void this.handle(line).then((r) => socket.end(reply(r)));
    });
  }

  private async handle(line: string): Promise<ControlReply> {
    let request: ControlRequest;
    try {
      const parsed = ControlRequest.safeParse(JSON.parse(line));
      if (!parsed.success) return { ok: false, error: `invalid request: ${parsed.error.issues[0]?.message}` };
      request = parsed.data;
    } catch (err) {
      return { ok: false, error: `invalid request: ${errorMessage(err)}` };
    }
    this.logger.info('local control request', { op: request.op });
    try {
      switch (request.op) {
        case 'status':
          return { ok: true, result: await this.agent.reported() };
        case 'rollback': {
          const res = await this.agent.command({ schema: PROTOCOL_SCHEMA, id: 'local-cli', name: 'rollback', args: {} });
          return { ok: true, result: res.output };
        }
        case 'logs': {
          const args: Record<string, string> = { component: request.component };
          if (request.tail) args.tail = String(request.tail);
          if (request.follow) args.follow = String(request.follow);
          const res = await this.agent.command({ schema: PROTOCOL_SCHEMA, id: 'local-cli', name: 'logs', args });
          return { ok: true, result: res.output ?? '' };
        }
        case 'apply':
          if (request.desired.rev <= this.agent.heldRev())
            return { ok: false, error: `rev ${request.desired.rev} is not newer than the held rev ${this.agent.heldRev()}` };
          this.agent.desire(request.desired);
          return { ok: true, result: `accepted rev ${request.desired.rev}` };
      }
    } catch (err) {
      return { ok: false, error: errorMessage(err) };
    }
  }
}

function reply(r: ControlReply): string {
  return JSON.stringify(r) + '\n';
}
