import { fork, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { join } from 'node:path';
import { Aedes } from 'aedes';
import { MQTT_LISTEN_BACKLOG } from '../../src/broker/listen-backlog';
import { TLS_OPTIONS } from '../../src/tls/tls-options';
import { nodeArgsFrom } from './node-args';

/**
 * Over TLS, as a user of bare aedes would serve it: Node's TLS server with the same key and
 * certificate (and TLS_OPTIONS) as the control plane's listener; with `clientCaPem`, client
 * certificates are required and verified against it (mutual TLS). The control plane's listener
 * asks for a certificate on every handshake, verified or not; this one asks only for mutual TLS,
 * so a password device's handshake here is a step shorter (the baseline is not weakened).
 */
export interface BareTls {
  keyPem: string;
  certPem: string;
  clientCaPem?: string;
}

/**
 * The baseline every storm is compared with (issue 15): aedes 1.2 as it comes (no hooks, no
 * database, default in-memory persistence), alone in a child process on a free port, driven by
 * the same load generator with the same devices. Its listener queues as many connections as the
 * control plane's (MQTT_LISTEN_BACKLOG), so neither storm is timed by the other's SYN retries.
 * `node bare-aedes.ts PORT` runs the broker, once its parent has sent `{ tls?: BareTls }`.
 */
export class BareAedes {
  private constructor(
    private readonly child: ChildProcess,
    readonly mqttUrl: string,
  ) {}

  static async start(port: number, tls?: BareTls): Promise<BareAedes> {
    const root = join(__dirname, '..', '..', '..');
    const child = fork(__filename, [String(port)], {
      cwd: root,
      // BARE_NODE_ARGS: node flags for the baseline, as CP_NODE_ARGS for the control plane (e.g. --cpu-prof).
      execArgv: [...nodeArgsFrom('BARE_NODE_ARGS'), '-r', '@swc-node/register'],
      env: { ...process.env, SWC_NODE_PROJECT: join(root, 'tsconfig.json') },
    });
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`bare aedes exited (${code})`)));
      child.once('message', () => resolve());
      // The TLS identity goes over the IPC channel, not on the command line.
      child.send({ tls });
    });
    child.removeAllListeners('exit');
    return new BareAedes(child, `${tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${port}`);
  }

  get pid(): number {
    return this.child.pid!;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    await exited;
  }
}

async function main(port: number, tls: BareTls | undefined): Promise<void> {
  const broker = await Aedes.createBroker();
  const server = tls
    ? createTlsServer(
        {
          ...TLS_OPTIONS,
          key: tls.keyPem,
          cert: tls.certPem,
          ...(tls.clientCaPem ? { ca: tls.clientCaPem, requestCert: true, rejectUnauthorized: true } : {}),
        },
        (socket) => broker.handle(socket),
      )
    : createServer((socket) => broker.handle(socket));
  await new Promise<void>((resolve) => server.listen({ port, host: '127.0.0.1', backlog: MQTT_LISTEN_BACKLOG }, resolve));
  // exit() on SIGTERM, not the signal's default: a --cpu-prof profile is written on exit only.
  process.on('SIGTERM', () => process.exit(0));
  process.send!('ready');
}

if (require.main === module) {
  process.once('message', ({ tls }: { tls?: BareTls }) => {
    main(Number(process.argv[2]), tls).catch((e: Error) => {
      console.error(e.stack ?? e.message);
      process.exit(1);
    });
  });
}
