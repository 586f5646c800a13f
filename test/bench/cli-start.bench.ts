import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { machineLine, median, printTable } from './machine';

// How long `flotilla` takes to start (BENCHMARKS.md "cli start"): `--help`, and an API command
// against an address where nothing listens (the CLI's whole start, then a refused connection).
// Each form is run in turn, `--runs` rounds, so drift on a shared machine touches all of them alike:
// Node alone, the checkout's bin (which first checks the bundle is newer than every source), the
// bundle as a packed install runs it, and with `--before DIR` the bin of another checkout.
const { values } = parseArgs({ options: { runs: { type: 'string', default: '20' }, before: { type: 'string' } } });
const runs = Number(values.runs);
const root = resolve(__dirname, '..', '..');
const home = mkdtempSync(join(tmpdir(), 'flotilla-cli-start-'));
const env = { PATH: process.env.PATH, HOME: home, FLOTILLA_API: 'http://127.0.0.1:9', FLOTILLA_API_KEY: 'fok_bench' };

const forms: Record<string, string[]> = {
  'node alone (node -e 0)': ['-e', '0'],
  ...(values.before ? { 'before: its cli/bin/flotilla.js': [join(resolve(values.before), 'cli', 'bin', 'flotilla.js')] } : {}),
  'cli/bin/flotilla.js': [join(root, 'cli', 'bin', 'flotilla.js')],
  // `node -e` puts the arguments at argv[1], where the CLI reads them from argv[2].
  'packed: dist/flotilla/flotilla.mjs': [
    '-e',
    `process.argv.splice(1, 0, '-e'); import(${JSON.stringify(pathToFileURL(join(root, 'cli', 'dist', 'flotilla', 'flotilla.mjs')).href)}).then((m) => m.cli())`,
    '--',
  ],
};
const commands: Record<string, string[]> = { '--help': ['--help'], 'devices list (unreachable API)': ['devices', 'list'] };

function runOnce(form: string[], command: string[]): number {
  const alone = form[0] === '-e' && form.length === 2;
  const args = alone ? form : [...form, ...command];
  const start = process.hrtime.bigint();
  const child = spawnSync(process.execPath, args, { env, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (!alone) {
    const expected = command[0] === '--help' ? 0 : 1;
    if (child.status !== expected) throw new Error(`${args.join(' ')} exited ${child.status}, not ${expected}: ${child.stderr}`);
  }
  return ms;
}

console.log(machineLine());
console.log(`${runs} runs of each, in turn; medians in ms\n`);
const rows: Array<Record<string, string | number>> = [];
for (const [name, command] of Object.entries(commands)) {
  // A first run of each builds a stale bundle and warms the file cache; it is not counted.
  for (const form of Object.values(forms)) runOnce(form, command);
  const times = new Map(Object.keys(forms).map((f) => [f, [] as number[]]));
  for (let i = 0; i < runs; i++) for (const [f, form] of Object.entries(forms)) times.get(f)!.push(runOnce(form, command));
  const before = values.before ? median(times.get('before: its cli/bin/flotilla.js')!) : NaN;
  for (const [f, t] of times)
    rows.push({
      command: name,
      form: f,
      median: median(t),
      min: Math.min(...t),
      max: Math.max(...t),
      'before / this': values.before ? `${(before / median(t)).toFixed(2)}×` : '',
    });
}
printTable(rows);
rmSync(home, { recursive: true, force: true });
