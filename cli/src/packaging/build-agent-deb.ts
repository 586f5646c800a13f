import { chmod, mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { bundleAgent, bundleLauncher } from '../images/agent-bundle';
import { DEFAULT_EPOCH } from '../images/build-image';
import { runTool } from '../images/tools';
import {
  commandScript,
  control,
  DEB_AGENT_PATH,
  DEB_COMMAND_PATH,
  DEB_ENV_PATH,
  DEB_LAUNCHER_PATH,
  DEB_UNIT_PATH,
  debSystemdUnit,
  envFile,
  postinst,
  postrm,
  prerm,
  type DebArch,
} from './agent-deb-files';

export interface BuildAgentDebOptions {
  version: string;
  arch: DebArch;
  outDir: string;
  /** The bundled agent (bundleAgent); bundled here when not given. */
  agent?: Buffer;
  epoch?: number;
}

/**
 * `npm run package`: a `flotilla-agent_<version>_<arch>.deb` built offline with dpkg-deb
 * from the bundled agent (one JavaScript file, the same for every architecture; the
 * architecture says which boards may install it and pulls that Node runtime).
 */
export async function buildAgentDeb(options: BuildAgentDebOptions): Promise<string> {
  const epoch = options.epoch ?? (Number(process.env.SOURCE_DATE_EPOCH) || DEFAULT_EPOCH);
  const agent = options.agent ?? (await bundleAgent());
  const root = await mkdtemp(join(tmpdir(), 'flotilla-deb-'));
  try {
    await chmod(root, 0o755); // the package's "./": mkdtemp's 0700 would be recorded for /
    const put = async (path: string, content: string | Buffer, mode = 0o644) => {
      await mkdir(dirname(join(root, path)), { recursive: true });
      await writeFile(join(root, path), content);
      await chmod(join(root, path), mode);
    };
    await put(DEB_AGENT_PATH, agent);
    const launcher = await bundleLauncher();
    await put(DEB_LAUNCHER_PATH, launcher);
    await put(DEB_COMMAND_PATH, commandScript(), 0o755);
    await put(DEB_UNIT_PATH, debSystemdUnit());
    await put(DEB_ENV_PATH, envFile());
    const installedKiB = Math.ceil((agent.length + launcher.length + 8192) / 1024);
    await put('DEBIAN/control', control(options.version, options.arch, installedKiB));
    await put('DEBIAN/conffiles', `${DEB_ENV_PATH}\n`);
    await put('DEBIAN/postinst', postinst(), 0o755);
    await put('DEBIAN/prerm', prerm(), 0o755);
    await put('DEBIAN/postrm', postrm(), 0o755);
    // Same inputs, same bytes: fixed times (dpkg-deb takes the rest from SOURCE_DATE_EPOCH).
    await runTool('find', [root, '-exec', 'touch', '-h', '-d', `@${epoch}`, '{}', '+']);
    await utimes(root, epoch, epoch);
    await mkdir(options.outDir, { recursive: true });
    const output = join(options.outDir, `flotilla-agent_${options.version}_${options.arch}.deb`);
    await runTool('dpkg-deb', ['--root-owner-group', '-Zxz', '--build', root, output], { env: { SOURCE_DATE_EPOCH: String(epoch) } });
    return output;
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
