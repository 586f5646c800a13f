import { build } from 'esbuild';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import * as zod from 'zod';
import * as device from '@flotilla/shared/device';
import { lazySharedDevice } from './agent-bundle-lazy-shared';

// Integration: esbuild on the compiled shared/dist (npm run build). The bundled entry must export
// what the eager one does, and build no zod schema before one of a file's exports is read.

/** The device entry bundled with the plugin, run with a zod that counts the schemas built. */
async function bundledDevice(): Promise<{ entry: Record<string, unknown>; built: () => number }> {
  const result = await build({
    stdin: {
      contents: 'module.exports = require("@flotilla/shared/device");',
      resolveDir: join(__dirname, '..', '..', '..', 'agent'),
      loader: 'js',
    },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    write: false,
    external: ['zod'],
    plugins: [lazySharedDevice()],
    logLevel: 'silent',
  });
  let calls = 0;
  // zod's factories (z.object, z.string…) counted; its classes (z.ZodType…) left as they are.
  const z = Object.fromEntries(
    Object.entries(zod.z).map(([name, value]) =>
      typeof value === 'function' && /^[a-z]/.test(name)
        ? [
            name,
            (...args: unknown[]) => {
              calls++;
              return (value as (...a: unknown[]) => unknown)(...args);
            },
          ]
        : [name, value],
    ),
  );
  const load = createRequire(__filename);
  const fakeRequire = (id: string) => (id === 'zod' ? { ...zod, z } : load(id));
  const module = { exports: {} as Record<string, unknown> };
  new Function('module', 'exports', 'require', result.outputFiles[0]!.text)(module, module.exports, fakeRequire);
  return { entry: module.exports, built: () => calls };
}

describe('the agent bundle: @flotilla/shared/device loaded file by file', () => {
  it('exports the same names as the eager entry, each of the same kind', async () => {
    const { entry } = await bundledDevice();
    expect(Object.keys(entry).sort()).toEqual(Object.keys(device).sort());
    for (const [name, value] of Object.entries(device)) expect([name, typeof entry[name]]).toEqual([name, typeof value]);
  });

  it('builds no schema when the bundle loads, and those of one file at its first export read', async () => {
    const { entry, built } = await bundledDevice();
    expect(built()).toBe(0);
    // A file without schemas loads alone.
    expect(entry.AGENT_NODE_FLAGS).toEqual(device.AGENT_NODE_FLAGS);
    expect(built()).toBe(0);
    const desired = entry.Desired as typeof device.Desired;
    expect(built()).toBeGreaterThan(0);
    expect(entry.Desired).toBe(desired);
    expect(desired.safeParse({}).success).toBe(false);
  });
});
