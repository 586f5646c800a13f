import { join } from 'node:path';
import { agentDiet } from './agent-bundle-diet';
import { lazySharedDevice } from './agent-bundle-lazy-shared';
import { ImageToolError } from './errors';

/** The agent's compiled entry (npm run build), from both src/images and dist/images. */
export const DEFAULT_AGENT_ENTRY = join(__dirname, '..', '..', '..', 'agent', 'dist', 'main.js');
/** The agent's launcher (agent/src/self-update/launcher.ts), which starts the installed agent version and falls back. */
export const DEFAULT_LAUNCHER_ENTRY = join(__dirname, '..', '..', '..', 'agent', 'dist', 'self-update', 'launcher.js');

/**
 * The agent and its npm dependencies as one JavaScript file (esbuild), for a root file
 * system that has a Node runtime and nothing else. Native add-ons are optional in the
 * agent's dependency tree (ssh2's cpu-features) and stay out: their pure-JS fallbacks run.
 * Targets Node 18, the runtime Debian 12 ships for arm64. The entry's #! line is kept.
 */
export async function bundleAgent(entry = DEFAULT_AGENT_ENTRY): Promise<Buffer> {
  // Loaded here, not at the top: esbuild is a native binary the bundled CLI leaves out
  // (bundle.js), and only image builds, in a checkout of the repository, need it.
  const { build } = await import('esbuild');
  try {
    const result = await build({
      entryPoints: [entry],
      bundle: true,
      platform: 'node',
      target: 'node18',
      format: 'cjs',
      write: false,
      // Node keeps a script's source in memory, as UTF-16 once it holds one non-ASCII
      // character: whitespace and comments out and ASCII only halve what the bundle costs a
      // device at rest (BENCHMARKS.md "agent"). Names stay, so stack traces stay readable.
      minifyWhitespace: true,
      minifySyntax: true,
      charset: 'ascii',
      legalComments: 'inline',
      external: ['cpu-features', '*.node'],
      plugins: [lazySharedDevice(), agentDiet()],
      logLevel: 'silent',
    });
    // esbuild leaves non-ASCII in regular expression literals (a dependency's [^°]):
    // \uXXXX means the same there, and in strings, templates and identifiers.
    const ascii = result.outputFiles[0].text.replace(/[^ -~\t\n\r]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
    return Buffer.from(ascii);
  } catch (e) {
    throw new ImageToolError('agent-bundle-failed', `bundling ${entry} failed (run npm run build first?): ${(e as Error).message}`);
  }
}

/** The launcher as one file (Node built-ins only, a few KB), installed beside the agent it starts. */
export async function bundleLauncher(entry = DEFAULT_LAUNCHER_ENTRY): Promise<Buffer> {
  return bundleAgent(entry);
}
