import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import type { Reported } from '@flotilla/shared/device';
import { controlSocketPath, type ControlReply, type ControlRequest } from './protocol';

export const CLI_COMMANDS = ['status', 'logs', 'rollback', 'apply'] as const;

const USAGE = `usage: flotilla-agent status [--json]
       flotilla-agent logs COMPONENT [--tail N] [--follow SECONDS]
       flotilla-agent rollback
       flotilla-agent apply DESIRED.json
(with no command: run the agent)`;

/** Sends one request to the running agent and returns its reply. */
export function request(stateDir: string, req: ControlRequest, timeoutMs = 90_000): Promise<ControlReply> {
  return new Promise((resolve, reject) => {
    const socket = connect(controlSocketPath(stateDir));
    let text = '';
    socket.setEncoding('utf8');
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no answer from the agent within ${timeoutMs} ms`)));
    socket.on('connect', () => socket.write(JSON.stringify(req) + '\n'));
    socket.on('data', (c: string) => (text += c));
    socket.on('error', (err) =>
      reject(
        new Error(
          `cannot reach the agent at ${controlSocketPath(stateDir)} (${err.message}); is it running, with this FLOTILLA_STATE_DIR?`,
        ),
      ),
    );
    socket.on('end', () => {
      try {
        resolve(JSON.parse(text) as ControlReply);
      } catch {
        reject(new Error(`unreadable answer from the agent: ${text.slice(0, 200)}`));
      }
    });
  });
}

/** `flotilla-agent COMMAND …` for a technician on site; returns the exit status. */
export async function runCli(argv: string[], stateDir: string, out: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  const [command, ...rest] = argv;
  let req: ControlRequest;
  switch (command) {
    case 'status':
      req = { op: 'status' };
      break;
    case 'rollback':
      req = { op: 'rollback' };
      break;
    case 'logs': {
      const component = rest[0];
      if (!component) return usage(out);
      const tail = flag(rest, '--tail');
      const follow = flag(rest, '--follow');
      req = { op: 'logs', component, ...(tail ? { tail } : {}), ...(follow ? { follow } : {}) };
      break;
    }
    case 'apply': {
      if (!rest[0]) return usage(out);
      req = { op: 'apply', desired: JSON.parse(await readFile(rest[0], 'utf8')) as never };
      break;
    }
    default:
      return usage(out);
  }
  const reply = await request(stateDir, req);
  if (!reply.ok) {
    out(`error: ${reply.error}\n`);
    return 1;
  }
  if (command === 'status' && !rest.includes('--json')) out(formatStatus(reply.result as Reported));
  else
    out(
      typeof reply.result === 'string'
        ? reply.result + (reply.result.endsWith('\n') ? '' : '\n')
        : JSON.stringify(reply.result, null, 2) + '\n',
    );
  return 0;
}

function flag(args: string[], name: string): number | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const value = Number(args[i + 1]);
  return Number.isInteger(value) && value > 0 ? value : undefined;
}

function usage(out: (s: string) => void): number {
  out(USAGE + '\n');
  return 64; // EX_USAGE
}

/** A few lines a person reads on a serial console. */
export function formatStatus(r: Reported): string {
  const slot = (s: Reported['update']['active']) => (s ? `rev ${s.rev} ${s.version ?? ''} (${s.releaseId ?? 'no release'})` : '-');
  const lines = [
    `agent ${r.agentVersion}, holds rev ${r.rev}`,
    `update phase: ${r.update.phase}${r.update.progress ? ` (${r.update.progress.percent}%)` : ''}`,
    `active:    ${slot(r.update.active)}`,
    `candidate: ${slot(r.update.candidate)}`,
    ...(r.update.failedRev !== null ? [`failed rev: ${r.update.failedRev}: ${r.update.lastFailure ?? ''}`] : []),
    'components:',
    ...r.components.map((c) => `  ${c.name.padEnd(20)} ${c.state.padEnd(10)} ${c.health.padEnd(10)} restarts=${c.restartCount ?? 0}`),
  ];
  return lines.join('\n') + '\n';
}
