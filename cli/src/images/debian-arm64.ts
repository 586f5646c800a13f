import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ImageToolError } from './errors';
import { runTool } from './tools';

/**
 * Debian packages for arm64 fetched on any host with `apt-get download` under a private
 * APT configuration (its own lists and cache, the host's sources and keys): the host's
 * dpkg architecture list and /var/lib/apt stay untouched.
 */
export const DEFAULT_APT_CACHE = process.env.FLOTILLA_APT_CACHE || join(homedir(), '.cache', 'flotilla', 'arm64-apt');

/** Lists older than this are refreshed; within it, builds see the same package versions. */
const LISTS_MAX_AGE_MS = 7 * 24 * 3600 * 1000;

export class DebianArm64 {
  constructor(readonly cacheDir = DEFAULT_APT_CACHE) {}

  private get config(): string {
    return join(this.cacheDir, 'apt.conf');
  }

  private async apt(command: string, args: readonly string[]): Promise<string> {
    // flock: builds sharing the cache must not run apt-get update over each other.
    const { stdout } = await runTool('flock', [join(this.cacheDir, 'lock'), command, ...args], { env: { APT_CONFIG: this.config } });
    return stdout.toString('utf8');
  }

  /** Writes the private configuration and refreshes the package lists when stale. */
  async prepare(): Promise<void> {
    const d = this.cacheDir;
    for (const sub of [
      'etc/apt.conf.d',
      'etc/preferences.d',
      'etc/sources.list.d',
      'state/lists/partial',
      'cache/archives/partial',
      'debs',
    ]) {
      await mkdir(join(d, sub), { recursive: true });
    }
    await writeFile(
      this.config,
      [
        'APT::Architecture "arm64";',
        'APT::Architectures { "arm64"; };',
        `Dir::Etc "${d}/etc";`,
        'Dir::Etc::SourceList "/etc/apt/sources.list";',
        'Dir::Etc::SourceParts "/etc/apt/sources.list.d";',
        'Dir::Etc::Trusted "/etc/apt/trusted.gpg";',
        'Dir::Etc::TrustedParts "/etc/apt/trusted.gpg.d";',
        `Dir::State "${d}/state";`,
        'Dir::State::status "/dev/null";',
        `Dir::Cache "${d}/cache";`,
        '',
      ].join('\n'),
    );
    const age = await stat(join(d, 'updated')).then(
      (s) => Date.now() - s.mtimeMs,
      () => Infinity,
    );
    if (age > LISTS_MAX_AGE_MS) {
      await this.apt('apt-get', ['-qq', 'update']);
      await writeFile(join(d, 'updated'), new Date().toISOString() + '\n');
    }
  }

  /** The packages and everything they depend on (no recommends), as arm64 package names. */
  async withDependencies(packages: readonly string[]): Promise<string[]> {
    const out = await this.apt('apt-cache', [
      'depends',
      '--recurse',
      '--no-recommends',
      '--no-suggests',
      '--no-conflicts',
      '--no-breaks',
      '--no-replaces',
      '--no-enhances',
      ...packages,
    ]);
    // Lines without indent are package names; <virtual> ones are provided by a real one listed too.
    return [...new Set(out.split('\n').filter((l) => l && !l.startsWith(' ') && !l.includes('<')))].sort();
  }

  /** Downloads (once) and returns the .deb paths of exactly these packages. */
  async download(packages: readonly string[]): Promise<string[]> {
    const debs = join(this.cacheDir, 'debs');
    const present = async () => (await readdir(debs)).filter((f) => f.endsWith('.deb'));
    const name = (file: string) => file.split('_')[0];
    const have = new Set((await present()).map(name));
    if (packages.some((p) => !have.has(p))) {
      // Checked again under the lock: a concurrent build may have fetched them meanwhile.
      // apt-get download writes into the current directory.
      const script =
        'cd "$0" && m= && for p; do ls ./"$p"_*.deb >/dev/null 2>&1 || m="$m $p"; done && { [ -z "$m" ] || exec apt-get -qq download $m; }';
      await runTool('flock', [join(this.cacheDir, 'lock'), 'sh', '-c', script, debs, ...packages], { env: { APT_CONFIG: this.config } });
    }
    const files = await present();
    return packages.map((p) => {
      const file = files
        .filter((f) => name(f) === p)
        .sort()
        .pop();
      if (!file) throw new ImageToolError('package-missing', `apt-get download ${p} (arm64) left no .deb in ${debs}`);
      return join(debs, file);
    });
  }

  /** Unpacks .deb files into `root` (dpkg-deb -x: files only, no maintainer scripts). */
  async extract(debs: readonly string[], root: string): Promise<void> {
    for (const deb of debs) await runTool('dpkg-deb', ['-x', deb, root]);
  }
}
