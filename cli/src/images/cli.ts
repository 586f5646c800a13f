#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { buildImage, BUILD_STAGES } from './build-image';
import { buildOsImage, OS_BUILD_STAGES } from './build-os-image';
import { configureImage, CONFIGURE_STAGES } from './configure-image';
import { ImageToolError } from './errors';
import { extractRootfs, ROOTFS_STAGES } from './extract-rootfs';
import { readBootFilesDir } from './fat';
import { flashImage, FLASH_STAGES } from './flash';
import { stderrProgress } from './progress';
import { createFleetProvisioning, readProvisioningFile } from './provisioning-source';
import type { ProvisioningFile } from '@flotilla/shared';

/**
 * Operator entry for images until the `flotilla` CLI folds these in:
 *   image build --board B --fleet F [--rootfs base.tar] (--provisioning FILE | --api URL --key KEY) [--no-node] -o device.img
 *   image os --board B --os-version V [--rootfs base.tar] [--url URL] -o rootfs.img
 *   image rootfs stock.img -o rootfs.tar
 *   image configure device.img (--provisioning FILE | --api URL --key KEY --fleet F) [--agent]
 *   flash device.img TARGET [--force-overwrite-mounted]
 */
const USAGE = `usage:
  image build --board BOARD --fleet FLEET (--provisioning FILE | --api URL --key KEY) [--rootfs base.tar] [--boot-files DIR] [--os-version V] [--no-node] -o OUT.img
  image os --board BOARD --os-version V [--rootfs base.tar] [--boot-files DIR] [--no-node] [--url URL] -o ROOTFS.img
  image rootfs STOCK.img -o ROOTFS.tar
  image configure IMAGE (--provisioning FILE | --api URL --key KEY --fleet FLEET) [--agent | --deb flotilla-agent_V_ARCH.deb]
  flash IMAGE TARGET [--force-overwrite-mounted]`;

async function provisioningFrom(values: { provisioning?: string; api?: string; key?: string; fleet?: string }): Promise<ProvisioningFile> {
  if (values.provisioning) return readProvisioningFile(values.provisioning);
  if (values.api && values.key && values.fleet) return createFleetProvisioning({ url: values.api, key: values.key }, values.fleet);
  throw new ImageToolError('usage', 'give --provisioning FILE, or --api URL --key KEY --fleet FLEET_ID');
}

const OPTIONS = {
  board: { type: 'string' },
  fleet: { type: 'string' },
  rootfs: { type: 'string' },
  provisioning: { type: 'string' },
  api: { type: 'string' },
  key: { type: 'string' },
  output: { type: 'string', short: 'o' },
  url: { type: 'string' },
  'os-version': { type: 'string' },
  'boot-files': { type: 'string' },
  'no-node': { type: 'boolean' },
  agent: { type: 'boolean' },
  deb: { type: 'string' },
  'force-overwrite-mounted': { type: 'boolean' },
} as const;

/** Node's parser throws a TypeError on an unknown flag; say it as a usage error instead of a stack trace. */
function parseOptions(argv: string[]) {
  try {
    return parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });
  } catch (e) {
    throw new ImageToolError('usage', `${(e as Error).message.split('. ')[0]}\n${USAGE}`);
  }
}

export async function main(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    return;
  }
  const { values, positionals } = parseOptions(argv);
  const [group, command, ...rest] = positionals;
  if (group === 'image' && command === 'build') {
    if (!values.board || !values.fleet || !values.output) throw new ImageToolError('usage', USAGE);
    await buildImage({
      board: values.board,
      fleet: values.fleet,
      provisioning: await provisioningFrom(values),
      output: values.output,
      rootfsTar: values.rootfs,
      osVersion: values['os-version'],
      bootFiles: values['boot-files'] ? await readBootFilesDir(values['boot-files']) : undefined,
      nodeRuntime: values['no-node'] ? { kind: 'none' } : { kind: 'debian' },
      progress: stderrProgress(BUILD_STAGES),
    });
  } else if (group === 'image' && command === 'os') {
    if (!values.board || !values['os-version'] || !values.output) throw new ImageToolError('usage', USAGE);
    const built = await buildOsImage({
      board: values.board,
      osVersion: values['os-version'],
      output: values.output,
      rootfsTar: values.rootfs,
      bootFiles: values['boot-files'] ? await readBootFilesDir(values['boot-files']) : undefined,
      nodeRuntime: values['no-node'] ? { kind: 'none' } : { kind: 'debian' },
      progress: stderrProgress(OS_BUILD_STAGES),
    });
    // Ready to paste under `x-flotilla:` of an assembly; the URL is wherever the file is served.
    const { board, version, sha256, size } = built.entry;
    console.log(
      `os:\n  - board: ${board}\n    version: ${JSON.stringify(version)}\n    url: ${values.url ?? 'https://CHANGE-ME/' + values.output}\n    sha256: ${sha256}\n    size: ${size}`,
    );
  } else if (group === 'image' && command === 'rootfs' && rest.length === 1) {
    if (!values.output) throw new ImageToolError('usage', USAGE);
    await extractRootfs({ image: rest[0], output: values.output, progress: stderrProgress(ROOTFS_STAGES) });
  } else if (group === 'image' && command === 'configure' && rest.length === 1) {
    await configureImage({
      image: rest[0],
      provisioning: await provisioningFrom(values),
      withAgent: values.agent ?? false,
      debPath: values.deb,
      progress: stderrProgress(CONFIGURE_STAGES),
    });
  } else if (group === 'flash' && command && rest.length === 1) {
    await flashImage({
      image: command,
      target: rest[0],
      forceOverwriteMounted: values['force-overwrite-mounted'] ?? false,
      progress: stderrProgress(FLASH_STAGES),
    });
  } else {
    throw new ImageToolError('usage', USAGE);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    if (e instanceof ImageToolError) console.error(`error [${e.code}]: ${e.message}`);
    else console.error(e);
    process.exitCode = 1;
  });
}
