import { type BoardSpec } from '@flotilla/shared';
import { agentCommand, agentEnvAssignments, agentSystemdUnit, type AgentInstall } from '../packaging/agent-unit';
import { ImageToolError } from './errors';
import { osReleaseAssignment, ubootQuoted } from './file-syntax';

/**
 * The files Flotilla adds to a root file system and a boot partition, as pure text:
 * service definitions for systemd and for a BusyBox/SysV init, mounts, the OS version.
 */

/** The boot partition is mounted here on the device; the agent's default provisioning path lives under it. */
export const BOOT_MOUNT = '/boot/firmware';
export const PROVISIONING_PATH_ON_BOOT = 'flotilla/provisioning.json';
export const AGENT_PATH = '/opt/flotilla/agent.js';
/** Starts the agent version installed under the state dir's alts/ (agent self-update), the image's agent until then. */
export const LAUNCHER_PATH = '/opt/flotilla/launcher.js';
export const OS_RELEASE_PATH = '/etc/flotilla/os-release';
export const BOARD_SPEC_PATH = '/etc/flotilla/board.json';
export const TRIAL_WATCHDOG_PATH = '/opt/flotilla/trial-watchdog.sh';
/** The agent's state on the data partition, shared by both root slots. */
export const STATE_DIR = '/data/flotilla';

/** How the image runs its agent: through the launcher, exactly as the flotilla-agent package does. */
export const IMAGE_AGENT_INSTALL: AgentInstall = {
  agentPath: AGENT_PATH,
  launcherPath: LAUNCHER_PATH,
  provisioningPath: `${BOOT_MOUNT}/${PROVISIONING_PATH_ON_BOOT}`,
  stateDir: STATE_DIR,
};

export function systemdUnit(): string {
  return agentSystemdUnit(IMAGE_AGENT_INSTALL);
}

/** Where `image configure --deb` drops the agent package for its first-boot install. */
export const AGENT_DEB_DROP_PATH = '/var/cache/flotilla/flotilla-agent.deb';

/** First boot of an image configured with --deb: apt installs the dropped package (and nodejs when missing), once. */
export function agentPackageInstallUnit(): string {
  return `[Unit]
Description=Install the Flotilla agent package dropped into this image
ConditionPathExists=${AGENT_DEB_DROP_PATH}
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
ExecStart=/usr/bin/apt-get install -y ${AGENT_DEB_DROP_PATH}
ExecStartPost=/bin/rm -f ${AGENT_DEB_DROP_PATH}
# apt may need the network for nodejs: try again until it is there.
Restart=on-failure
RestartSec=60

[Install]
WantedBy=multi-user.target
`;
}

export const SYSTEMD_WATCHDOG_CONF = '/etc/systemd/system.conf.d/flotilla-watchdog.conf';

/**
 * systemd opens the board's hardware watchdog (/dev/watchdog: the Raspberry Pi's with
 * dtparam=watchdog=on) and pets it from PID 1: a kernel or early userspace that hangs is
 * reset within RuntimeWatchdogSec, and a hung reboot within RebootWatchdogSec. On a trial
 * boot that reset is the fallback (the firmware's one-shot trial is spent).
 */
export function systemdWatchdogConf(): string {
  return `# Added by flotilla image build
[Manager]
RuntimeWatchdogSec=15s
RebootWatchdogSec=2min
`;
}

/**
 * An OS trial boot whose agent never commits (it crashes, or the new OS breaks it) must
 * still end, or the board stays on the broken slot until someone power-cycles it. This
 * runs at every boot: when the agent's OS journal on the data partition says a trial is
 * under way, it waits out the deadline and reboots unless the trial was committed, and
 * the bootloader's one-time trial then falls back. (A hang below userspace needs the
 * board's hardware watchdog: RuntimeWatchdogSec in systemd.)
 */
export function trialWatchdogScript(): string {
  return `#!/bin/sh
journal=\${FLOTILLA_STATE_DIR:-${STATE_DIR}}/os-update.json
deadline=\${FLOTILLA_TRIAL_DEADLINE_S:-900}
in_trial() { grep -Eq '"phase":"(reboot|trial)"' "$journal" 2>/dev/null; }
in_trial || exit 0
sleep "$deadline"
in_trial || exit 0
echo "flotilla: the OS trial boot was not committed within $deadline s; rebooting so the bootloader falls back" >&2
exec reboot
`;
}

export function trialWatchdogUnit(): string {
  return `[Unit]
Description=Flotilla OS trial watchdog (reboots a trial boot the agent did not commit)
After=local-fs.target

[Service]
Environment=FLOTILLA_STATE_DIR=${STATE_DIR}
ExecStart=/bin/sh ${TRIAL_WATCHDOG_PATH}

[Install]
WantedBy=multi-user.target
`;
}

/**
 * For BusyBox init or SysV rc: start in the background, restart when it exits, except after
 * exit status 78 (EX_CONFIG: no restart can help; the unit's RestartPreventExitStatus).
 */
export function initScript(): string {
  const nodeEnv = agentEnvAssignments()
    .map((assignment) => `export ${assignment}\n`)
    .join('');
  return `#!/bin/sh
# Flotilla agent (for systems without systemd).
export FLOTILLA_PROVISIONING=${BOOT_MOUNT}/${PROVISIONING_PATH_ON_BOOT}
export FLOTILLA_STATE_DIR=${STATE_DIR}
${nodeEnv}case "$1" in
  start)
    ( while true; do ${agentCommand(IMAGE_AGENT_INSTALL)}
        status=$?
        if [ "$status" -eq 78 ]; then
          echo "flotilla-agent: exit 78 (configuration or damaged state file, see the fatal line above); not restarting" >&2
          break
        fi
        sleep 5
      done ) >>/var/log/flotilla-agent.log 2>&1 &
    echo $! >/run/flotilla-agent.pid ;;
  stop)
    [ -f /run/flotilla-agent.pid ] && kill "$(cat /run/flotilla-agent.pid)" ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
`;
}

/** Mount lines by label: the labels come from the board spec, so they hold on any disk name. */
export function fstabLines(spec: BoardSpec): string {
  const boot = spec.partitions.find((p) => p.role === 'boot')!;
  const data = spec.partitions.find((p) => p.role === 'data')!;
  // mkfs.vfat stores labels in upper case, and LABEL= matches case-sensitively. FAT has no owners:
  // without masks every user of the board reads the provisioning file, token included until the
  // agent has registered and removed it; root (the agent, the firmware tools) alone needs it.
  return `# Added by flotilla image build\nLABEL=${boot.label.toUpperCase()} ${BOOT_MOUNT} vfat defaults,noatime,fmask=0177,dmask=0077 0 2\nLABEL=${data.label} /data ext4 defaults,noatime 0 2\n`;
}

/**
 * /etc/flotilla/os-release (os-release(5), sourced by shells): the board, the OS version (at most 64
 * characters, as a release's `x-flotilla.os` version: a longer one no release could name) and
 * the fleet an image was built for.
 */
export function osRelease(spec: BoardSpec, version: string, fleet?: string): string {
  if (version.length === 0 || version.length > 64)
    throw new ImageToolError(
      'value-not-representable',
      `--os-version "${version.slice(0, 80)}" must be 1 to 64 characters, as a release names OS versions`,
    );
  return (
    osReleaseAssignment('FLOTILLA_BOARD', spec.name, 'the board name') +
    osReleaseAssignment('FLOTILLA_OS_VERSION', version, '--os-version') +
    (fleet === undefined ? '' : osReleaseAssignment('FLOTILLA_FLEET', fleet, '--fleet'))
  );
}

/** The kernel command line for slot A, with the root given by partition label. */
export function kernelCmdline(spec: BoardSpec, rootDevice: string): string {
  return spec.boot.cmdline.replace('{root}', rootDevice) + '\n';
}

/**
 * U-Boot boot script source (boot.cmd) implementing the A/B contract the agent's `uboot`
 * backend relies on: boot_slot picks the root; while upgrade_available=1 every boot
 * increments bootcount, and past bootlimit the other slot is booted again and the trial ends.
 * Compile with `mkimage -A arm64 -T script -d boot.cmd boot.scr`.
 */
export function ubootScript(spec: BoardSpec): string {
  const root = (n: number) => `/dev/mmcblk0p${n}`;
  const a = spec.partitions.findIndex((p) => p.role === 'rootA') + 1;
  const b = spec.partitions.findIndex((p) => p.role === 'rootB') + 1;
  return `# Flotilla A/B boot script (generated by flotilla image build)
# First boot: save U-Boot's whole environment, so that the agent changes a complete one (a file
# holding only the A/B variables would replace the built-in environment, bootcmd included).
if test -z "\${flotilla_env}"; then setenv flotilla_env 1; saveenv; fi
if test -z "\${boot_slot}"; then setenv boot_slot A; fi
if test -z "\${bootlimit}"; then setenv bootlimit 3; fi
if test "\${upgrade_available}" = "1"; then
  if test -z "\${bootcount}"; then setenv bootcount 0; fi
  setexpr bootcount \${bootcount} + 1
  if test \${bootcount} -gt \${bootlimit}; then
    if test "\${boot_slot}" = "A"; then setenv boot_slot B; else setenv boot_slot A; fi
    setenv upgrade_available 0
  fi
  saveenv
fi
if test "\${boot_slot}" = "B"; then setenv rootdev ${root(b)}; setenv rootpart ${b}; else setenv rootdev ${root(a)}; setenv rootpart ${a}; fi
setenv bootargs "${spec.boot.cmdline
    .split('{root}')
    .map((part) => ubootQuoted(part, `the ${spec.name} board spec's boot.cmdline`))
    .join('${rootdev}')}"
load mmc 0:\${rootpart} \${kernel_addr_r} /boot/Image
load mmc 0:\${rootpart} \${fdt_addr_r} /boot/dtb
booti \${kernel_addr_r} - \${fdt_addr_r}
`;
}
