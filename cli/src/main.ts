#!/usr/bin/env node
import { parseArgs, type FlagSpec } from './args';
import { client } from './client';
import { loadConfig, type Env } from './config';
import type { Context } from './context';
import { DELTA_FLAGS, delta } from './commands/delta';
import { DEVICES_FLAGS, devices } from './commands/devices';
import { FLEETS_FLAGS, fleets } from './commands/fleets';
import { images } from './commands/images';
import { simulate } from './commands/sim';
import { LOGIN_FLAGS, login } from './commands/login';
import { RELEASES_FLAGS, releases } from './commands/releases';
import { REGISTRIES_FLAGS, registries } from './commands/registries';
import { ROLLOUTS_FLAGS, rollouts } from './commands/rollouts';
import { CliError, EXIT, usage } from './errors';
import { HELP } from './help';
import { terminalSafe } from './format';

const GROUPS: Record<string, { flags: Record<string, FlagSpec>; run: (ctx: Context, p: ReturnType<typeof parseArgs>) => Promise<number> }> =
  {
    devices: { flags: DEVICES_FLAGS, run: devices },
    fleets: { flags: FLEETS_FLAGS, run: fleets },
    releases: { flags: RELEASES_FLAGS, run: releases },
    rollouts: { flags: ROLLOUTS_FLAGS, run: rollouts },
    registries: { flags: REGISTRIES_FLAGS, run: registries },
    login: { flags: LOGIN_FLAGS, run: login },
    delta: { flags: DELTA_FLAGS, run: delta },
  };

/** Runs one command line; returns the exit code. Errors are printed with what to do next. */
export async function run(
  argv: readonly string[],
  env: Env,
  io: Pick<Context, 'out' | 'err' | 'write' | 'isTTY'> & Partial<Pick<Context, 'stdin'>>,
): Promise<number> {
  const group = argv[0];
  try {
    if (!group || group === '--help' || group === '-h' || group === 'help') {
      io.out(HELP);
      return group ? EXIT.ok : EXIT.usage;
    }
    const config = await loadConfig(env);
    const ctx: Context = {
      stdin: readProcessStdin,
      ...io,
      api: client(config),
      config,
      env,
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    };
    if (group === 'image' || group === 'flash') return await images(ctx, argv);
    if (group === 'sim') return await simulate(ctx, argv.slice(1));
    const spec = GROUPS[group];
    if (!spec) throw usage(`unknown command "${group}"`);
    if (argv.includes('--help') || argv.includes('-h')) {
      io.out(
        HELP.split('\n')
          .filter((l) => l.trimStart().startsWith(group) || l.startsWith('usage'))
          .join('\n'),
      );
      return EXIT.ok;
    }
    return await spec.run(ctx, parseArgs(argv, spec.flags));
  } catch (e) {
    if (e instanceof CliError) {
      io.err(`flotilla: ${e.message}`);
      if (e.hint) io.err(`  -> ${e.hint}`);
      return e.exitCode;
    }
    io.err(`flotilla: unexpected error: ${(e as Error).stack ?? String(e)}`);
    return EXIT.api;
  }
}

async function readProcessStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The process's command line, run; what `bin/flotilla.js` calls. */
export function cli(): void {
  void run(process.argv.slice(2), process.env, {
    // Every line may carry device strings; the CLI's own cursor movements go through `write`.
    out: (line) => process.stdout.write(`${terminalSafe(line)}\n`),
    err: (line) => process.stderr.write(`${terminalSafe(line)}\n`),
    write: (text) => process.stdout.write(text),
    isTTY: process.stdout.isTTY === true,
  }).then((code) => {
    process.exitCode = code;
  });
}

if (require.main === module) cli();
