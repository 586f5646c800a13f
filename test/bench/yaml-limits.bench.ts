import { loadYaml, MANIFEST_YAML_LIMITS } from '@flotilla/shared';
import { parseDocument } from 'yaml';
import { machineLine, printTable } from './machine';

// What a hostile manifest costs the control plane's event loop before it is answered. The
// baseline is the YAML library's own duplicate-key check (`uniqueKeys: true`), which loadYaml
// used until it compared each key with every earlier key of its map.
function manyKeys(n: number): string {
  const lines = Array.from({ length: n }, (_, i) => `      KEY_${i}: v\n`);
  return `name: many\nx-flotilla: { version: 1.0.0 }\nservices:\n  web:\n    image: web:1\n    environment:\n${lines.join('')}`;
}

function timeMs(fn: () => unknown): { ms: number; result: unknown } {
  const start = process.hrtime.bigint();
  const result = fn();
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, result };
}

function outcome(r: ReturnType<typeof loadYaml>): string {
  return r.ok ? 'parsed' : `refused: ${r.issues[0]!.message}`;
}

console.log(machineLine());
console.log(`limits: ${JSON.stringify(MANIFEST_YAML_LIMITS)}\n`);

const unlimited = { maxBytes: 2 ** 22, maxEntries: 10_000_000 };
loadYaml(manyKeys(1_000), unlimited); // warm-up: the first parse compiles the library
const rows: Array<Record<string, string | number>> = [];
for (const keys of [10_000, 20_000, 40_000]) {
  const text = manyKeys(keys);
  const linear = timeMs(() => loadYaml(text, unlimited));
  const baseline = timeMs(() => parseDocument(text, { uniqueKeys: true, prettyErrors: false }).toJS());
  rows.push({
    keys,
    bytes: text.length,
    'loadYaml ms (limits raised)': linear.ms,
    'yaml uniqueKeys ms (baseline)': baseline.ms,
    ratio: baseline.ms / linear.ms,
  });
}
printTable(rows);

console.log('\nwith the API limits:');
printTable(
  [
    ['1 MB, 50,000 keys', manyKeys(50_000)],
    ['250 KB, 13,000 keys', manyKeys(13_000)],
    ['130 KB, 9,990 keys', manyKeys(9_990)],
  ].map(([label, text]) => {
    const { ms, result } = timeMs(() => loadYaml(text!));
    return { manifest: label!, ms, outcome: outcome(result as ReturnType<typeof loadYaml>) };
  }),
);
