import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deviceTimeZone } from './time-zone';

/** Integration: the files a Debian root holds, in a scratch directory. */
let root: string;
beforeEach(async () => {
  root = (await mkdtemp(join(tmpdir(), 'flotilla-tz-'))) + '/';
  await mkdir(join(root, 'etc'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('deviceTimeZone', () => {
  it('reads TZ first, then the /etc/localtime link, then /etc/timezone, else UTC', async () => {
    expect(deviceTimeZone({}, root)).toBe('UTC');
    await writeFile(join(root, 'etc/timezone'), 'America/New_York\n');
    expect(deviceTimeZone({}, root)).toBe('America/New_York');
    await symlink('/usr/share/zoneinfo/Europe/Berlin', join(root, 'etc/localtime'));
    expect(deviceTimeZone({}, root)).toBe('Europe/Berlin');
    expect(deviceTimeZone({ TZ: ':Asia/Tokyo' }, root)).toBe('Asia/Tokyo');
  });

  it('ignores what is not a zone name (a POSIX TZ rule, a path escaping zoneinfo)', async () => {
    await symlink('/opt/../etc/zone', join(root, 'etc/localtime'));
    expect(deviceTimeZone({ TZ: 'CET-1CEST,M3.5.0' }, root)).toBe('UTC');
  });

  it('names the same zone as Intl on this machine', () => {
    expect(deviceTimeZone()).toBe(Intl.DateTimeFormat().resolvedOptions().timeZone);
  });
});
