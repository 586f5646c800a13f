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

  it("leaves zod's JSON Schema and compile APIs out with an error that says so, and parsing as before", async () => {
    const out = (await runBundled(`
      const { z } = require('zod');
      const device = z.object({ id: z.string().min(1), tags: z.array(z.string()).optional() });
      let error;
      try { z.toJSONSchema(device); } catch (e) { error = e.message; }
      module.exports = { ok: device.safeParse({ id: 'd' }).success, bad: device.safeParse({ id: '' }).success, error };
    `)) as Record<string, unknown>;
    expect(out).toEqual({ ok: true, bad: false, error: expect.stringMatching(/not in the agent bundle/) });
  });

  it("loads mqtt.js's topic alias cache when a topic alias is first used, and it works as before", async () => {
    const out = (await runBundled(`
      const TopicAliasSend = require('../node_modules/mqtt/build/lib/topic-alias-send.js').default;
      const aliases = new TopicAliasSend(2);
      aliases.put('a/b', 1);
      module.exports = { alias: aliases.getAliasByTopic('a/b'), topic: aliases.getTopicByAlias(1) };
    `)) as Record<string, unknown>;
    expect(out).toEqual({ alias: 1, topic: 'a/b' });
  });
});
