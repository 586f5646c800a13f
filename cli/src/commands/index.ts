import type { FlagSpec, Parsed } from '../args';
import type { Context } from '../context';

/** A command group as `main` runs it: the CLI's own flags, or the whole argv for a tool that parses its own. */
export type Command =
  | { flags: Record<string, FlagSpec>; run: (ctx: Context, p: Parsed) => Promise<number> }
  | { argv: (ctx: Context, argv: readonly string[]) => Promise<number> };

/**
 * Every command group by name, each module loaded only when its command runs: the image tools
 * pull in YAML and esbuild, the simulator mqtt and x509, and a script that lists devices in a
 * loop pays for none of them (BENCHMARKS.md "cli start"). Help is `help.ts`, no module here.
 * ESLint keeps `main.ts` and this file from importing a command statically.
 */
const LOADERS = {
  devices: async () => {
    const m = await import('./devices.js');
    return { flags: m.DEVICES_FLAGS, run: m.devices };
  },
  fleets: async () => {
    const m = await import('./fleets.js');
    return { flags: m.FLEETS_FLAGS, run: m.fleets };
  },
  releases: async () => {
    const m = await import('./releases.js');
    return { flags: m.RELEASES_FLAGS, run: m.releases };
  },
  rollouts: async () => {
    const m = await import('./rollouts.js');
    return { flags: m.ROLLOUTS_FLAGS, run: m.rollouts };
  },
  registries: async () => {
    const m = await import('./registries.js');
    return { flags: m.REGISTRIES_FLAGS, run: m.registries };
  },
  login: async () => {
    const m = await import('./login.js');
    return { flags: m.LOGIN_FLAGS, run: m.login };
  },
  delta: async () => {
    const m = await import('./delta.js');
    return { flags: m.DELTA_FLAGS, run: m.delta };
  },
  image: async () => ({ argv: (await import('./images.js')).images }),
  flash: async () => ({ argv: (await import('./images.js')).images }),
  sim: async () => {
    const { simulate } = await import('./sim.js');
    return { argv: (ctx, argv) => simulate(ctx, argv.slice(1)) };
  },
} satisfies Record<string, () => Promise<Command>>;

export type CommandName = keyof typeof LOADERS;

/** Whether `name` is a command (an own key: `constructor` or `__proto__` is not one). */
export const isCommand = (name: string): name is CommandName => Object.hasOwn(LOADERS, name);

/** Commands whose `--help` is their tool's own usage, not a part of `flotilla --help`. */
export const OWN_HELP: ReadonlySet<CommandName> = new Set(['image', 'flash', 'sim']);

export const loadCommand = (name: CommandName): Promise<Command> => LOADERS[name]();
