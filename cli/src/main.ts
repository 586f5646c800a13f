#!/usr/bin/env node
import { parseArgs } from './args';
import { loadConfig, type Env } from './config';
import type { Context } from './context';
import { isCommand, loadCommand, OWN_HELP } from './commands';
import { CliError, EXIT, usage } from './errors';
import { HELP, helpFor } from './help';
import { terminalSafe } from './format';

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
    if (!isCommand(group)) throw usage(`unknown command "${group}"`);
    // A group's help is a part of HELP: answered before its module (or the configuration) is loaded.
    if (!OWN_HELP.has(group) && (argv.includes('--help') || argv.includes('-h'))) {
      io.out(helpFor(group));
      return EXIT.ok;
    }
    const [config, command, { client }] = await Promise.all([loadConfig(env), loadCommand(group), import('./client.js')]);
    const ctx: Context = {
      stdin: readProcessStdin,
      ...io,
      api: client(config),
      config,
      env,
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    };
    if ('argv' in command) return await command.argv(ctx, argv);
    return await command.run(ctx, parseArgs(argv, command.flags));
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
