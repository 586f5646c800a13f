import { readFile } from 'node:fs/promises';
import type { Plugin } from 'esbuild';
import { ImageToolError } from './errors';

/**
 * What the agent's dependencies load that a device never runs, left out of its bundle: each
 * cost resident memory for good, because a bundled module's top level runs at start and Node
 * keeps the script's source. Measured on the idle agent (BENCHMARKS.md "agent", issue #15):
 *
 * - zod's 40 error-message locales (the agent reports in English): 360 KB of source, 1 MB RSS;
 * - mqtt.js's WebSocket transport (ws, with zlib and http) loads at the first connect whatever
 *   the URL; made to load on the first ws:// or wss:// connect instead (1.5 MB RSS);
 * - readable-stream, mqtt.js's copy of Node's streams: Node's own `stream` instead;
 * - debug (and supports-color, tty): mqtt.js's tracing, never enabled on a device;
 * - mqtt.js's SOCKS proxy support (socks, ip-address, dns): a device reaches its broker
 *   directly; MQTTJS_SOCKS_PROXY now fails the connect with a message that says so;
 * - worker-timers: browser timers, never used under Node;
 * - lru-cache (mqtt.js's topic aliases) looks at the global `performance` when it loads, which
 *   loads perf_hooks and eight more of Node's modules; it now does so at its first TTL instead;
 * - zod's link from a schema to the one it was derived from (`.min()`, `.optional()`, `.extend()`
 *   clone their schema and keep it as `_zod.parent`), which only metadata lookups (`.meta()`,
 *   `.describe()`) and JSON Schema output follow, neither of which the agent uses: every
 *   intermediate schema of a chain stayed resident (0.3 MB of heap).
 * Together about 5 MB RSS and 0.8 MB of bundle.
 */
/** zod's JSON Schema conversions (both ways) and its parser compiler, loaded by zod's index at start; the agent parses with jitless schemas only. */
const ZOD_SCHEMA_TOOLS =
  /^\.\.?\/(core\/)?(compile|to-json-schema|json-schema-processors|json-schema-generator|json-schema|from-json-schema)\.cjs$/;

export function agentDiet(): Plugin {
  const stub = (contents: string) => ({ contents, loader: 'js' as const });
  return {
    name: 'agent-diet',
    setup(build) {
      build.onResolve({ filter: /^readable-stream$/ }, () => ({ path: 'stream', external: true }));
      build.onResolve({ filter: /^debug$/ }, () => ({ path: 'debug', namespace: 'agent-diet' }));
      build.onResolve({ filter: /^worker-timers$/ }, () => ({ path: 'worker-timers', namespace: 'agent-diet' }));
      build.onResolve({ filter: /^\.\/socks$/ }, (args) =>
        /mqtt\/build\/lib\/connect\/[^/]+$/.test(args.importer) ? { path: 'mqtt-socks', namespace: 'agent-diet' } : undefined,
      );
      build.onResolve({ filter: /\/locales\/index\.cjs$/ }, (args) =>
        /zod\/v4\/(classic|core|mini)\//.test(args.importer)
          ? { path: 'zod-locales', namespace: 'agent-diet', pluginData: args.resolveDir }
          : undefined,
      );
      build.onResolve({ filter: ZOD_SCHEMA_TOOLS }, (args) =>
        /zod\/v4\/(classic|core|mini)\//.test(args.importer) ? { path: 'zod-schema-tools', namespace: 'agent-diet' } : undefined,
      );
      build.onLoad({ filter: /.*/, namespace: 'agent-diet' }, (args) => {
        switch (args.path) {
          case 'debug':
            return stub(
              'const off = Object.assign(() => {}, { enabled: false, extend: () => off });' +
                'module.exports = Object.assign(() => off, { enable() {}, disable() { return ""; }, enabled: () => false });' +
                'module.exports.default = module.exports;',
            );
          case 'worker-timers':
            return stub('module.exports = { setInterval, clearInterval, setTimeout, clearTimeout };');
          case 'mqtt-socks':
            // A stream that fails, as a proxy that cannot be reached would: the link reports it and retries.
            return stub(
              'const { PassThrough } = require("stream");' +
                'module.exports = () => { const s = new PassThrough(); process.nextTick(() => s.destroy(new Error(' +
                '"the agent connects to its broker directly: SOCKS proxies (MQTTJS_SOCKS_PROXY) are not supported"))); return s; };',
            );
          case 'zod-schema-tools':
            // zod's modules read these as namespaces when they load and call into them only from
            // JSON Schema and compile APIs: any call fails and says why.
            return stub(
              'const off = () => { throw new Error("zod\'s JSON Schema and compile APIs are not in the agent bundle (agent-bundle-diet.ts)"); };' +
                'module.exports = new Proxy({}, { get: (_, key) => (key === "__esModule" ? true : typeof key === "symbol" ? undefined : off), ownKeys: () => [] });',
            );
          case 'zod-locales':
            return { ...stub('module.exports = { en: require("../locales/en.cjs").default };'), resolveDir: args.pluginData as string };
          default:
            return undefined;
        }
      });
      // mqtt.js requires every transport on the first connect; ws only when a ws(s):// URL asks for it.
      build.onLoad({ filter: /mqtt\/build\/lib\/connect\/index\.js$/ }, async (args) => {
        const source = await readFile(args.path, 'utf8');
        const eager = "require('./ws').streamBuilder;";
        if (source.split(eager).length !== 3)
          throw new ImageToolError('agent-bundle-failed', `${args.path} no longer requires ./ws as expected: update agent-bundle-diet.ts`);
        return { contents: source.split(eager).join("(...a) => require('./ws').streamBuilder(...a);"), loader: 'js' };
      });
      build.onLoad({ filter: /zod\/v4\/core\/util\.cjs$/ }, async (args) => {
        const source = await readFile(args.path, 'utf8');
        const link = 'if (!def || params?.parent)\n        cl._zod.parent = inst;';
        if (source.split(link).length !== 2)
          throw new ImageToolError(
            'agent-bundle-failed',
            `${args.path} no longer links a clone to its parent as expected: update agent-bundle-diet.ts`,
          );
        return { contents: source.replace(link, ''), loader: 'js' };
      });
      // lru-cache serves topic aliases only, which the broker must offer in its CONNACK: loaded then.
      build.onLoad({ filter: /mqtt\/build\/lib\/topic-alias-send\.js$/ }, async (args) => {
        const source = await readFile(args.path, 'utf8');
        const eager = 'const lru_cache_1 = require("lru-cache");';
        if (source.split(eager).length !== 2)
          throw new ImageToolError(
            'agent-bundle-failed',
            `${args.path} no longer requires lru-cache as expected: update agent-bundle-diet.ts`,
          );
        return {
          contents: source.replace(eager, 'const lru_cache_1 = { get LRUCache() { return require("lru-cache").LRUCache; } };'),
          loader: 'js',
        };
      });
      // mqtt.js reads its package.json for its version only; the rest (dependencies, scripts) stayed in memory.
      build.onLoad({ filter: /mqtt\/package\.json$/ }, async (args) => {
        const { version } = JSON.parse(await readFile(args.path, 'utf8')) as { version: string };
        return stub(`module.exports = { version: ${JSON.stringify(version)} };`);
      });
      build.onLoad({ filter: /lru-cache\/dist\/commonjs\/index\.js$/ }, async (args) => {
        const source = await readFile(args.path, 'utf8');
        const perf =
          /const perf = typeof performance === 'object' &&\s+performance &&\s+typeof performance\.now === 'function'\s+\? performance\s+: Date;/;
        if (!perf.test(source))
          throw new ImageToolError(
            'agent-bundle-failed',
            `${args.path} no longer picks its clock as expected: update agent-bundle-diet.ts`,
          );
        return { contents: source.replace(perf, 'const perf = { now: () => performance.now() };'), loader: 'js' };
      });
    },
  };
}
