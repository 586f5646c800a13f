import { build } from 'esbuild';
import { join } from 'node:path';
import { ImageToolError } from './errors';

/** The agent's compiled entry (npm run build), from both src/images and dist/images. */
export const DEFAULT_AGENT_ENTRY = join(__dirname, '..', '..', '..', 'agent', 'dist', 'main.js');

/**
 * The agent and its npm dependencies as one JavaScript file (esbuild), for a root file
 * system that has a Node runtime and nothing else. Native add-ons are optional in the
 * agent's dependency tree (ssh2's cpu-features) and stay out: their pure-JS fallbacks run.
 * Targets Node 18, the runtime Debian 12 ships for arm64. The entry's #! line is kept.
 */
export async function bundleAgent(entry = DEFAULT_AGENT_ENTRY): Promise<Buffer> {
  try {
    const result = await build({
      entryPoints: [entry],
      bundle: true,
      platform: 'node',
      target: 'node18',
      format: 'cjs',
      write: false,
      minify: false,
      legalComments: 'inline',
      external: ['cpu-features', '*.node'],
      logLevel: 'silent',
    });
    return Buffer.from(result.outputFiles[0].contents);
  } catch (e) {
    throw new ImageToolError('agent-bundle-failed', `bundling ${entry} failed (run npm run build first?): ${(e as Error).message}`);
  }
}
