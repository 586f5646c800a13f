import { build } from 'esbuild';
import { join } from 'node:path';
import { agentDiet } from './agent-bundle-diet';

// Integration: esbuild on the installed zod. What the diet changes in zod must leave parsing as it was.
async function runBundled(source: string): Promise<unknown> {
  const result = await build({
    stdin: { contents: source, resolveDir: join(__dirname, '..', '..', '..', 'agent'), loader: 'js' },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    write: false,
    plugins: [agentDiet()],
    logLevel: 'silent',
  });
  const module = { exports: {} as unknown };
  new Function('module', 'exports', 'require', result.outputFiles[0]!.text)(module, module.exports, () => {
    throw new Error('the bundle needs no Node module here');
  });
  return module.exports;
}

describe('the agent bundle diet', () => {
  it('drops the link from a derived zod schema to the one it came from, and parses as before', async () => {
    const out = (await runBundled(`
      const { z } = require('zod');
      const name = z.string().min(1).max(3);
      module.exports = { parent: name._zod.parent, ok: name.safeParse('ab').success, empty: name.safeParse('').success, long: name.safeParse('abcd').success };
    `)) as Record<string, unknown>;
    expect(out).toEqual({ parent: undefined, ok: true, empty: false, long: false });
  });
});
