import { simMain } from '../sim/main';
import { SIM_USAGE, SimArgsError } from '../sim/sim-args';
import type { Context } from '../context';
import { CliError, EXIT } from '../errors';

/**
 * `flotilla sim --devices N …`: simulated devices against the configured control plane
 * (`--api-url`/`--api-key` default to the CLI's configuration). Runs until Ctrl-C or `--duration`.
 */
export async function simulate(ctx: Context, argv: readonly string[]): Promise<number> {
  // The simulator's parser takes every flag for one with a value: `--help` would take the
  // `--api-url` appended below for its value and fail on the address ("unexpected argument").
  if (argv.includes('--help') || argv.includes('-h')) {
    ctx.out(SIM_USAGE);
    return EXIT.ok;
  }
  const args = [...argv];
  if (!args.includes('--api-url')) args.push('--api-url', ctx.config.api);
  if (!args.includes('--api-key') && ctx.config.key) args.push('--api-key', ctx.config.key);
  try {
    await simMain(args, ctx.env);
    return EXIT.ok;
  } catch (e) {
    if (e instanceof SimArgsError) throw new CliError(EXIT.usage, e.message);
    throw e;
  }
}
