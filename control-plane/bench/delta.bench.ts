import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { DELTA_LEVEL } from '../src/deltas/delta-workshop';

// `npm run bench -- delta`: binary layer deltas (issue 18 item 3) for three realistic changes,
// built here offline, each layer as a reproducible tar (sorted, mtime 0, numeric owners):
//   config    origin's mqtt-broker component layer (from the local registry), one default changed
//             in the script that writes mosquitto.conf
//   npm bump  an app layer with the agent's production node_modules, mqtt's lru-cache 10.4 → 11.5
//   security  a Debian 12 base (the agent package test's chroot: libs, binaries, /etc, dpkg
//             database), libssl3 replaced by the version in the APT cache (a security update)
// For each: the full pull (gzip -6 of the new layer, what a registry serves), and the delta made
// by `zstd -19 --long=31 --patch-from` (what the control plane stores) and by `xdelta3 -9` when
// installed (the alternative), with the time to compute and to apply, applied and checked byte-exact.

const ROOT = join(__dirname, '..', '..');
const WORK = join(process.env.FLOTILLA_TEST_STATE ?? '/tmp/flotilla-test', 'delta-bench');
const CHROOT = join(process.env.FLOTILLA_TEST_STATE ?? '/tmp/flotilla-test', 'debian12-nodejs-chroot');
const APT_CACHE = '/var/cache/apt/archives';

interface Case {
  name: string;
  base: string;
  target: string;
}

function tarDir(dir: string, out: string): void {
  execFileSync('sh', [
    '-c',
    `cd "$1" && find . -mindepth 1 | LC_ALL=C sort | tar --no-recursion --mtime=@0 --owner=0 --group=0 --numeric-owner -cf "$2" -T -`,
    'tar',
    dir,
    out,
  ]);
}

function fresh(dir: string): string {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

async function configCase(): Promise<Case> {
  const images = JSON.parse(readFileSync(join(ROOT, 'assemblies', 'origin', '.images.json'), 'utf8'));
  const ref: string = images.components['mqtt-broker'].platforms['linux/amd64'].image;
  const [, host, repo, digest] = /^([^/]+)\/(.+)@(sha256:.+)$/.exec(ref)!;
  const base = `http://${host}/v2/${repo}`;
  const manifest = (await (
    await fetch(`${base}/manifests/${digest}`, { headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' } })
  ).json()) as { layers: { digest: string }[] };
  const blob = Buffer.from(await (await fetch(`${base}/blobs/${manifest.layers.at(-1)!.digest}`)).arrayBuffer());
  const dir = fresh(join(WORK, 'config-dir'));
  writeFileSync(join(WORK, 'config-layer.tar'), gunzipSync(blob));
  execFileSync('tar', ['-xf', join(WORK, 'config-layer.tar'), '-C', dir]);
  tarDir(dir, join(WORK, 'config-base.tar'));
  const script = join(dir, 'usr/local/bin/mqtt-broker-start');
  writeFileSync(script, readFileSync(script, 'utf8').replace('MQTT_MAX_QUEUED_MESSAGES:-1000', 'MQTT_MAX_QUEUED_MESSAGES:-5000'));
  tarDir(dir, join(WORK, 'config-target.tar'));
  return { name: 'config file', base: join(WORK, 'config-base.tar'), target: join(WORK, 'config-target.tar') };
}

function npmCase(): Case {
  const dir = fresh(join(WORK, 'npm-dir'));
  const modules = join(dir, 'app', 'node_modules');
  const list = execFileSync('npm', ['ls', '--omit=dev', '-w', 'agent', '--parseable', '--all'], { cwd: ROOT, encoding: 'utf8' });
  for (const path of list.split('\n')) {
    const rel = path.slice(ROOT.length + 1);
    // Top-level packages only: nested ones come with their parent.
    if (/^node_modules\/(@[^/]+\/)?[^/]+$/.test(rel)) cpSync(path, join(dir, 'app', rel), { recursive: true, dereference: true });
  }
  // mqtt's own lru-cache 10.4 → 11.5 (the version path-scurry uses in this repository, not in the agent's tree).
  tarDir(join(dir, 'app'), join(WORK, 'npm-base.tar'));
  const nested = join(modules, 'mqtt', 'node_modules', 'lru-cache');
  rmSync(nested, { recursive: true });
  cpSync(join(ROOT, 'node_modules', 'path-scurry', 'node_modules', 'lru-cache'), nested, { recursive: true });
  tarDir(join(dir, 'app'), join(WORK, 'npm-target.tar'));
  return { name: 'npm dependency bump', base: join(WORK, 'npm-base.tar'), target: join(WORK, 'npm-target.tar') };
}

function securityCase(): Case | undefined {
  const deb = execFileSync('sh', ['-c', `ls ${APT_CACHE}/libssl3_*_amd64.deb 2>/dev/null | tail -1`], { encoding: 'utf8' }).trim();
  if (!existsSync(CHROOT) || !deb) {
    console.log(`security: skipped (needs ${CHROOT}, made by the agent package e2e test, and a libssl3 .deb in ${APT_CACHE})`);
    return undefined;
  }
  const dir = fresh(join(WORK, 'security-dir'));
  for (const sub of ['etc', 'usr/bin', 'usr/sbin', 'usr/lib/x86_64-linux-gnu', 'var/lib/dpkg']) {
    cpSync(join(CHROOT, sub), join(dir, sub), { recursive: true, verbatimSymlinks: true });
  }
  rmSync(join(dir, 'usr/lib/x86_64-linux-gnu/libnode.so.108'), { force: true }); // the base, not node
  tarDir(dir, join(WORK, 'security-base.tar'));
  execFileSync('dpkg-deb', ['-x', deb, dir]);
  tarDir(dir, join(WORK, 'security-target.tar'));
  return {
    name: `base security update (${deb.split('/').pop()})`,
    base: join(WORK, 'security-base.tar'),
    target: join(WORK, 'security-target.tar'),
  };
}

function timed(cmd: string, args: string[]): number {
  const started = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return Number(process.hrtime.bigint() - started) / 1e9;
}

function same(a: string, b: string): boolean {
  return spawnSync('cmp', ['-s', a, b]).status === 0;
}

const mb = (n: number) => `${(n / 1e6).toFixed(2)} MB`;
const kb = (n: number) => (n < 1e6 ? `${(n / 1e3).toFixed(1)} KB` : mb(n));

async function main(): Promise<void> {
  // Levels to compare: `npm run bench -- delta 19 9 3`; the first is the control plane's.
  const levels = process.argv
    .slice(2)
    .map(Number)
    .filter((n) => n >= 1 && n <= 19);
  if (levels.length === 0) levels.push(DELTA_LEVEL, 9);
  mkdirSync(WORK, { recursive: true });
  const hasXdelta = spawnSync('xdelta3', ['-V']).status === 0;
  const cases = [await configCase(), npmCase(), securityCase()].filter((c): c is Case => c !== undefined);
  console.log(
    `delta bench: ${cpus().length} × ${cpus()[0]?.model}, zstd --long=31 --patch-from (levels ${levels.join(', ')})${hasXdelta ? ', xdelta3 -9' : ''}`,
  );
  console.log('| change | layer (uncompressed) | full pull (gzip) | tool | delta | full/delta | compute | apply |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const c of cases) {
    const layer = statSync(c.target).size;
    const full = gzipSync(readFileSync(c.target), { level: 6 }).length;
    const out = join(WORK, 'out.tar');
    const zst = join(WORK, 'delta.zst');
    for (const [i, level] of levels.entries()) {
      const zc = timed('zstd', ['-q', '-f', `-${level}`, '--long=31', `--patch-from=${c.base}`, c.target, '-o', zst]);
      const za = timed('zstd', ['-q', '-f', '-d', '--long=31', `--patch-from=${c.base}`, zst, '-o', out]);
      if (!same(out, c.target)) throw new Error(`${c.name}: zstd did not rebuild the layer exactly`);
      const zs = statSync(zst).size;
      const head = i === 0 ? `${c.name} | ${mb(layer)} | ${mb(full)}` : ' | |';
      console.log(`| ${head} | zstd -${level} | ${kb(zs)} | ${(full / zs).toFixed(0)}× | ${zc.toFixed(2)} s | ${za.toFixed(2)} s |`);
    }
    if (hasXdelta) {
      const xd = join(WORK, 'delta.xd');
      const xc = timed('xdelta3', ['-f', '-e', '-9', '-s', c.base, c.target, xd]);
      const xa = timed('xdelta3', ['-f', '-d', '-s', c.base, xd, out]);
      if (!same(out, c.target)) throw new Error(`${c.name}: xdelta3 did not rebuild the layer exactly`);
      const xs = statSync(xd).size;
      console.log(`| | | | xdelta3 | ${kb(xs)} | ${(full / xs).toFixed(0)}× | ${xc.toFixed(2)} s | ${xa.toFixed(2)} s |`);
    }
  }
  rmSync(WORK, { recursive: true, force: true });
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
