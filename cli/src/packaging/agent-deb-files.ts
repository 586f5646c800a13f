import { agentSystemdUnit } from './agent-unit';

/**
 * The files of the `flotilla-agent` Debian package, as pure text: for boards that keep
 * their own OS (Raspberry Pi OS, Debian 12), where Flotilla runs containers but does no
 * OS A/B. Paths follow Debian policy: the program under /usr/lib, the command in /usr/bin,
 * configuration in /etc/flotilla (conffiles), state in /var/lib/flotilla.
 */
export const DEB_AGENT_PATH = '/usr/lib/flotilla-agent/agent.js';
/** Starts the agent version installed under the state dir's alts/ (agent self-update), this package's agent until then. */
export const DEB_LAUNCHER_PATH = '/usr/lib/flotilla-agent/launcher.js';
export const DEB_COMMAND_PATH = '/usr/bin/flotilla-agent';
export const DEB_UNIT_PATH = '/lib/systemd/system/flotilla-agent.service';
export const DEB_ENV_PATH = '/etc/flotilla/agent.env';
export const DEB_PROVISIONING_PATH = '/etc/flotilla/provisioning.json';
export const DEB_STATE_DIR = '/var/lib/flotilla';

export type DebArch = 'arm64' | 'amd64';

export function control(version: string, arch: DebArch, installedKiB: number): string {
  return `Package: flotilla-agent
Version: ${version}
Architecture: ${arch}
Maintainer: Flotilla maintainers <flotilla@invalid>
Installed-Size: ${installedKiB}
Depends: nodejs (>= 18)
Recommends: docker.io | docker-ce, zstd
Section: admin
Priority: optional
Description: Flotilla device agent
 Runs the container assemblies a Flotilla control plane assigns to this device, reports
 its state and telemetry, and updates them with a health-gated A/B switch. Provision it
 with "flotilla-agent provision FILE"; state lives in ${DEB_STATE_DIR}.
`;
}

/** The unit: the same launcher, memory flags and watchdog as in Flotilla's own images. */
export function debSystemdUnit(): string {
  return agentSystemdUnit({
    agentPath: DEB_AGENT_PATH,
    launcherPath: DEB_LAUNCHER_PATH,
    provisioningPath: DEB_PROVISIONING_PATH,
    stateDir: DEB_STATE_DIR,
    unitExtras: ['Documentation=man:flotilla-agent(1)', `ConditionPathExists=${DEB_PROVISIONING_PATH}`],
    envFile: DEB_ENV_PATH,
  });
}

export function envFile(): string {
  return `# Settings for the Flotilla agent (environment variables, read by its systemd unit and by
# the flotilla-agent command). Kept across upgrades. See the agent's README for the list.
#FLOTILLA_LOG_LEVEL=info
#FLOTILLA_REPORT_INTERVAL_MS=10000
`;
}

/**
 * `flotilla-agent`: the agent's own commands (status, rollback, logs COMPONENT, apply), the
 * agent's journal (logs without a component), and `provision FILE`, which installs a
 * provisioning file and (re)starts the service.
 */
export function commandScript(): string {
  return `#!/bin/sh
set -e
export FLOTILLA_PROVISIONING=${DEB_PROVISIONING_PATH}
export FLOTILLA_STATE_DIR=${DEB_STATE_DIR}
if [ -r ${DEB_ENV_PATH} ]; then set -a; . ${DEB_ENV_PATH}; set +a; fi
systemd_running() { [ -d /run/systemd/system ]; }
case "$1" in
  provision)
    [ -n "$2" ] || { echo "usage: flotilla-agent provision FILE (a provisioning.json from the control plane)" >&2; exit 2; }
    /usr/bin/node -e 'const p = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); if (!p.apiUrl || !p.token) throw new Error("not a provisioning file: apiUrl and token are missing")' "$2"
    install -D -m 0600 "$2" ${DEB_PROVISIONING_PATH}
    if systemd_running; then systemctl enable flotilla-agent.service && systemctl restart flotilla-agent.service; fi
    echo "provisioned: the agent registers with $(/usr/bin/node -p 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).apiUrl' "$2")"
    ;;
  logs)
    if [ $# -eq 1 ]; then exec journalctl -u flotilla-agent.service --no-pager -n 200; fi
    exec /usr/bin/node ${DEB_AGENT_PATH} "$@"
    ;;
  status | rollback | apply)
    exec /usr/bin/node ${DEB_AGENT_PATH} "$@"
    ;;
  *)
    echo "usage: flotilla-agent status [--json] | logs [COMPONENT] | rollback | provision FILE" >&2
    exit 2
    ;;
esac
`;
}

export function postinst(): string {
  return `#!/bin/sh
set -e
if [ "$1" = configure ]; then
  mkdir -p ${DEB_STATE_DIR}
  chmod 0700 ${DEB_STATE_DIR}
  if [ -d /run/systemd/system ]; then
    systemctl daemon-reload || true
    systemctl enable flotilla-agent.service || true
    # Starts only once provisioned (ConditionPathExists in the unit).
    systemctl restart flotilla-agent.service || true
  fi
fi
`;
}

export function prerm(): string {
  return `#!/bin/sh
set -e
if [ -d /run/systemd/system ] && { [ "$1" = remove ] || [ "$1" = upgrade ]; }; then
  systemctl stop flotilla-agent.service || true
fi
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then systemctl disable flotilla-agent.service || true; fi
`;
}

/**
 * Containers the agent started keep running after a remove (the device keeps serving, as
 * when the agent stops); \`purge\` also deletes the agent's identity and journals.
 */
export function postrm(): string {
  return `#!/bin/sh
set -e
if [ "$1" = purge ]; then
  rm -rf ${DEB_STATE_DIR} ${DEB_PROVISIONING_PATH}
  rmdir /etc/flotilla 2>/dev/null || true
fi
if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
`;
}
