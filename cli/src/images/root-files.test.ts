import { debSystemdUnit } from '../packaging/agent-deb-files';
import { fstabLines, initScript, systemdUnit, ubootScript } from './root-files';
import { testBoard } from './testing/board-spec';

describe('the agent service in an image', () => {
  it('starts the agent through the launcher beside it, with the package unit shape', () => {
    const unit = systemdUnit();
    expect(unit).toMatch(
      /^ExecStart=\/usr\/bin\/node --max-semi-space-size=1 --lite-mode \/opt\/flotilla\/launcher\.js \/opt\/flotilla\/agent\.js$/m,
    );
    expect(unit).toMatch(/^Environment=FLOTILLA_STATE_DIR=\/data\/flotilla$/m);
    // The [Service] lines past the paths are the package's: one shape for every installed agent.
    const serviceTail = (u: string) => u.slice(u.indexOf('ExecStart='));
    const imageTail = serviceTail(unit).replace(/\/opt\/flotilla\//g, '');
    expect(imageTail).toBe(serviceTail(debSystemdUnit()).replace(/\/usr\/lib\/flotilla-agent\//g, ''));
    // 78 (EX_CONFIG, a damaged state file or configuration) stops the service instead of a restart every 5 s.
    for (const line of ['KillMode=mixed', 'WatchdogSec=60s', 'NotifyAccess=all', 'Restart=always', 'RestartPreventExitStatus=78'])
      expect(unit).toMatch(new RegExp(`^${line}$`, 'm'));
    // glibc's malloc settings for the launcher, which hands them on to the agent (idle RSS).
    for (const line of ['MALLOC_ARENA_MAX=1', 'MALLOC_TOP_PAD_=0', 'MALLOC_TRIM_THRESHOLD_=65536', 'MALLOC_MMAP_THRESHOLD_=65536'])
      expect(unit).toMatch(new RegExp(`^Environment=${line}$`, 'm'));
  });

  it('mounts the boot partition, which holds the provisioning file, for root alone', () => {
    const spec = testBoard({ boot: { backend: 'file', cmdline: 'root={root}', firmware: { kernel: 'kernel8.img', required: [] } } });
    const fstab = fstabLines(spec);
    expect(fstab).toMatch(/^LABEL=\S+ \/boot\/firmware vfat defaults,noatime,fmask=0177,dmask=0077 0 2$/m);
  });

  it('runs the launcher from the init script too (systems without systemd)', () => {
    const script = initScript();
    expect(script).toContain('/usr/bin/node --max-semi-space-size=1 --lite-mode /opt/flotilla/launcher.js /opt/flotilla/agent.js\n');
    expect(script).toMatch(/if \[ "\$status" -eq 78 \]; then[^]*break/);
    expect(script).toMatch(/^export MALLOC_ARENA_MAX=1$/m);
    expect(script.indexOf('export MALLOC_TRIM_THRESHOLD_=65536')).toBeLessThan(script.indexOf('start)'));
  });
});

describe('the U-Boot boot script', () => {
  it("saves U-Boot's whole environment on the first boot, before it sets anything or boots", () => {
    // The agent changes only a saved environment (UbootBackend): one written from nothing would
    // replace U-Boot's built-in one, bootcmd included.
    const spec = testBoard({
      boot: { backend: 'uboot', cmdline: 'root={root}', env: { path: 'uboot.env', size: 16384, redundant: false } },
    });
    const lines = ubootScript(spec).split('\n');
    const first = lines.findIndex((l) => l.includes('saveenv'));
    expect(lines[first]).toBe('if test -z "${flotilla_env}"; then setenv flotilla_env 1; saveenv; fi');
    expect(first).toBeLessThan(lines.findIndex((l) => /setenv (boot_slot|bootlimit|bootcount)/.test(l)));
    expect(first).toBeLessThan(lines.findIndex((l) => l.startsWith('booti')));
  });
});
