import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { BoardSpec } from '@flotilla/shared';

const dir = join(__dirname, '..', '..', 'firmware-specs');
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));

describe('firmware-specs', () => {
  it('holds the first boards', () => {
    expect(files).toEqual(
      expect.arrayContaining(['raspberrypi4-64.yaml', 'raspberrypi5.yaml', 'qemu-arm64-virt.yaml', 'uboot-arm64-generic.yaml']),
    );
  });

  it.each(files)('%s is a valid board spec named after its file', (file) => {
    const result = BoardSpec.safeParse(parse(readFileSync(join(dir, file), 'utf8')));
    if (!result.success) throw new Error(`${file}: ${JSON.stringify(result.error.issues, null, 2)}`);
    expect(result.data.name).toBe(file.replace(/\.yaml$/, ''));
  });

  it('refuses a spec without a data partition or with a non-vfat boot partition', () => {
    const spec = parse(readFileSync(join(dir, 'raspberrypi5.yaml'), 'utf8'));
    const broken = { ...spec, partitions: [{ ...spec.partitions[0], fs: 'ext4' }, ...spec.partitions.slice(1, 3)] };
    const result = BoardSpec.safeParse(broken);
    expect(result.success).toBe(false);
    const messages = result.error!.issues.map((i) => i.message);
    expect(messages).toEqual(
      expect.arrayContaining(['needs exactly one "data" partition, found 0', 'the boot partition must be vfat (firmware reads it)']),
    );
  });
});
