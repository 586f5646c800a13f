import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { BuildOptions, Metafile } from 'esbuild';

/**
 * What each `flotilla` command loads (BENCHMARKS.md "cli start"): the CLI bundled by cli/bundle.js
 * (in memory, here), whose chunks are split at every dynamic import(). A command runs the start's
 * chunks and those its own chunk imports statically, and nothing else: a static import from the
 * start or from an API command to a heavy part (mqtt, x509, YAML, zod, the image tools, the
 * simulator, another command, all of @flotilla/shared) shows up here by name.
 */
jest.setTimeout(60_000);

const ROOT = resolve(__dirname, '..', '..', '..');
const bundleJs = createRequire(__filename)(join(ROOT, 'cli', 'bundle.js')) as { options: (overrides: BuildOptions) => BuildOptions };
const API_COMMANDS = ['devices', 'fleets', 'releases', 'rollouts', 'registries', 'login', 'delta'];
let graph: Metafile;

beforeAll(async () => {
  const { build } = await import('esbuild');
  const inMemory = { outdir: join(tmpdir(), 'flotilla-cli-start'), write: false, metafile: true, absWorkingDir: ROOT };
  graph = (await build(bundleJs.options(inMemory))).metafile!;
});

/** The chunk that holds `source` first (its entry point), and every chunk it imports statically. */
function chunksOf(source: string, into = new Set<string>()): Set<string> {
  const chunk = Object.keys(graph.outputs).find((name) => graph.outputs[name]!.entryPoint === source);
  if (!chunk) throw new Error(`no chunk starts at ${source}: is it still loaded by a dynamic import()?`);
  const visit = (name: string) => {
    if (into.has(name)) return;
    into.add(name);
    for (const i of graph.outputs[name]!.imports) if (i.kind === 'import-statement' && graph.outputs[i.path]) visit(i.path);
  };
  visit(chunk);
  return into;
}

/** The source files that run when `flotilla COMMAND …` runs (sorted), or `flotilla --help` without one. */
function loadedBy(command?: string): string[] {
  const chunks = chunksOf('cli/src/main.ts');
  if (command) {
    chunksOf('cli/src/client.ts', chunks);
    chunksOf(`cli/src/commands/${command}.ts`, chunks);
  }
  return [...chunks].flatMap((c) => Object.keys(graph.outputs[c]!.inputs)).sort();
}

describe('what a flotilla command loads', () => {
  it('`--help` loads the start alone: no command, no @flotilla/shared, no npm package', () => {
    expect(loadedBy()).toEqual(['args', 'commands/index', 'config', 'errors', 'format', 'help', 'main'].map((f) => `cli/src/${f}.ts`));
  });

  it.each(API_COMMANDS)('`%s` loads its own module and a few files of @flotilla/shared, no npm package and no other command', (command) => {
    const loaded = loadedBy(command);
    expect(loaded).toContain(`cli/src/commands/${command}.ts`);
    expect(loaded.filter((f) => /node_modules\/|^cli\/src\/(images|sim)\//.test(f))).toEqual([]);
    expect(loaded.filter((f) => f.startsWith('cli/src/commands/') && !['index.ts', `${command}.ts`].includes(f.slice(17)))).toEqual([]);
    expect(loaded.filter((f) => f.startsWith('shared/src/')).length).toBeLessThanOrEqual(4);
  });

  it('sees a heavy part where it belongs: the simulator loads mqtt and x509, the image tools YAML', () => {
    expect(loadedBy('sim')).toEqual(
      expect.arrayContaining([expect.stringMatching(/node_modules\/mqtt\//), expect.stringMatching(/node_modules\/@peculiar\/x509\//)]),
    );
    expect(loadedBy('images')).toEqual(expect.arrayContaining([expect.stringMatching(/node_modules\/yaml\//)]));
  });
});
