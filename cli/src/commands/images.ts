import { main as imageMain } from '../images/cli';
import { ImageToolError } from '../images/errors';
import type { Context } from '../context';
import { CliError, EXIT } from '../errors';

/**
 * `flotilla image build|configure …` and `flotilla flash …` run the image tools
 * (images/cli.ts) with the same argv; `--api`/`--key` default to the CLI's
 * configuration, so `flotilla image build --board rpi4 --fleet F -o device.img` needs nothing more.
 */
export async function images(ctx: Context, argv: readonly string[]): Promise<number> {
  const args = [...argv];
  const fromApi = args[0] === 'image' && !args.includes('--provisioning') && args.includes('--fleet');
  if (fromApi && !args.includes('--api')) args.push('--api', ctx.config.api);
  if (fromApi && !args.includes('--key') && ctx.config.key) args.push('--key', ctx.config.key);
  try {
    await imageMain(args);
    return EXIT.ok;
  } catch (e) {
    if (e instanceof ImageToolError) throw new CliError(e.code === 'usage' ? EXIT.usage : EXIT.api, `[${e.code}] ${e.message}`);
    throw e;
  }
}
