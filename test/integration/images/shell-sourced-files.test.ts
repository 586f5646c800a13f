import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BoardSpec } from '@flotilla/shared';
import { readOsVersion } from '../../../agent/src/os-update/os-identity';
import { buildImage } from '../../../cli/src/images/build-image';
import { configureImage } from '../../../cli/src/images/configure-image';
import { osRelease, ubootScript } from '../../../cli/src/images/root-files';
import { testBoard } from '../../../cli/src/images/testing/board-spec';
import { testProvisioning } from './fixtures';

// Operator input in the files the image tools write, read back the way the device reads them: a
// real /bin/sh sources os-release (as the QEMU init does) and runs the U-Boot script's bootargs
// line (hush quotes as sh does), and the agent reads the OS version. Nothing in a value runs.

const run = promisify(execFile);
let dir: string;
let marker: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flotilla-sourced-'));
  marker = join(dir, 'ran');
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const hostile = () => [
  `1.0; touch ${marker}`,
  `$(touch ${marker})`,
  `\`touch ${marker}\``,
  `2.0 "quoted" \\ back $HOME \${PATH}`,
  "it's 1.0",
  '',
];

describe('os-release written by image build and image os', () => {
  it('is read back as given, by a shell that sources it and by the agent, and runs nothing', async () => {
    const spec = testBoard();
    for (const value of hostile()) {
      const version = value || '1';
      const root = join(dir, 'root');
      await mkdir(join(root, 'etc/flotilla'), { recursive: true });
      await writeFile(join(root, 'etc/flotilla/os-release'), osRelease(spec, version, value));
      const { stdout } = await run('/bin/sh', [
        '-c',
        '. "$1" && printf "%s\\n%s\\n%s" "$FLOTILLA_BOARD" "$FLOTILLA_OS_VERSION" "$FLOTILLA_FLEET"',
        'sh',
        join(root, 'etc/flotilla/os-release'),
      ]);
      expect(stdout).toBe(`${spec.name}\n${version}\n${value}`);
      expect(await readOsVersion(root)).toBe(version);
      expect(existsSync(marker)).toBe(false);
    }
  });

  it('refuses a value it cannot hold, naming the option, before any build work', async () => {
    const spec = testBoard();
    expect(() => osRelease(spec, '1.0\nFLOTILLA_BOARD=other')).toThrow(/--os-version holds a control character/);
    expect(() => osRelease(spec, '1.0', 'fleet\r')).toThrow(/--fleet holds a control character/);
    expect(() => osRelease(spec, 'v'.repeat(65))).toThrow(/--os-version .* must be 1 to 64 characters/);
    const output = join(dir, 'device.img');
    await expect(
      buildImage({ board: 'qemu-arm64-virt', fleet: 'a\nFLOTILLA_OS_VERSION=9', provisioning: testProvisioning(), output }),
    ).rejects.toMatchObject({ code: 'value-not-representable', message: expect.stringMatching(/^--fleet holds a control character/) });
    expect(existsSync(output)).toBe(false);
    expect(existsSync(`${output}.partial`)).toBe(false);
  });
});

describe('configure --deb', () => {
  it('refuses a package path debugfs cannot quote, naming --deb, before the image is touched', async () => {
    const image = join(dir, 'device.img');
    await writeFile(image, 'not read');
    for (const debPath of [join(dir, 'a\nrm /etc/passwd\n.deb'), join(dir, 'a".deb')])
      await expect(configureImage({ image, provisioning: testProvisioning(), debPath })).rejects.toMatchObject({
        code: 'value-not-representable',
        message: expect.stringMatching(/^--deb /),
      });
  });
});

describe("U-Boot script's bootargs", () => {
  it("carries the board's command line as written, quotes and dollars included", async () => {
    const cmdline = 'console=ttyS0 root={root} opt="a b" x=$y \\z';
    const spec = testBoard({ name: 'uboot-test', boot: { backend: 'uboot', cmdline } });
    const line = ubootScript(spec)
      .split('\n')
      .find((l) => l.startsWith('setenv bootargs '))!;
    const { stdout } = await run('/bin/sh', ['-c', `setenv() { printf %s "$2"; }; rootdev=/dev/mmcblk0p2; y=EXPANDED; ${line}`]);
    expect(stdout).toBe(cmdline.replace('{root}', '/dev/mmcblk0p2'));
  });

  it('is one line: a board spec whose command line has a newline is refused', () => {
    const base = testBoard();
    const parsed = BoardSpec.safeParse({ ...base, boot: { ...base.boot, cmdline: 'root={root}\nfoo' } });
    expect(parsed.success).toBe(false);
  });
});
