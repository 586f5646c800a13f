import { AGENT_NODE_ENV, AGENT_NODE_FLAGS } from '@flotilla/shared';
import { bundleAgent, bundleLauncher } from '../images/agent-bundle';

/**
 * How every installed agent runs, in Flotilla's own images and in the `flotilla-agent`
 * package alike: Node with the agent's memory flags runs the launcher (agent self-update),
 * which starts the installed agent version, or the shipped agent until one is installed.
 */

export interface AgentInstall {
  /** The bundled agent shipped with the image or package. */
  agentPath: string;
  /** The launcher, beside the agent. */
  launcherPath: string;
  provisioningPath: string;
  stateDir: string;
  /** Lines for [Unit] beyond the defaults (Documentation=, ConditionPathExists=). */
  unitExtras?: readonly string[];
  /** An optional EnvironmentFile= for operator settings. */
  envFile?: string;
}

/** `NAME=value` settings of AGENT_NODE_ENV, for Environment= lines and shell exports. */
export function agentEnvAssignments(): string[] {
  return Object.entries(AGENT_NODE_ENV).map(([name, value]) => `${name}=${value}`);
}

/** The command line that starts the agent through its launcher. */
export function agentCommand(install: AgentInstall): string {
  return `/usr/bin/node ${AGENT_NODE_FLAGS.join(' ')} ${install.launcherPath} ${install.agentPath}`;
}

export function agentSystemdUnit(install: AgentInstall): string {
  const unitExtras = (install.unitExtras ?? []).map((line) => `${line}\n`).join('');
  const envFile = install.envFile ? `EnvironmentFile=-${install.envFile}\n` : '';
  // The launcher hands its environment on to the agent it starts.
  const nodeEnv = agentEnvAssignments()
    .map((assignment) => `Environment=${assignment}\n`)
    .join('');
  return `[Unit]
Description=Flotilla agent
Wants=network-online.target docker.service
After=network-online.target docker.service
${unitExtras}
[Service]
Environment=FLOTILLA_PROVISIONING=${install.provisioningPath}
Environment=FLOTILLA_STATE_DIR=${install.stateDir}
${nodeEnv}${envFile}ExecStart=${agentCommand(install)}
# SIGTERM to the launcher only, which hands it on to the agent once (a second would cut its clean stop short).
KillMode=mixed
Restart=always
RestartSec=5
# 78 (EX_CONFIG): a damaged state file or a bad configuration, which no restart repairs. The
# agent stops with its fatal log line saying which file and what to do, instead of a restart
# every 5 s that the control plane sees only as "offline".
RestartPreventExitStatus=78
# The agent pings systemd (WATCHDOG=1 through systemd-notify, hence NotifyAccess=all) at
# half this period; a wedged agent that stops is killed and restarted.
WatchdogSec=60s
NotifyAccess=all

[Install]
WantedBy=multi-user.target
`;
}

export interface AgentBundles {
  agent: Buffer;
  launcher: Buffer;
}

/** The agent (from `agentEntry`, default agent/dist/main.js) and the launcher, each as one file. */
export async function bundleAgentWithLauncher(agentEntry?: string): Promise<AgentBundles> {
  return { agent: await bundleAgent(agentEntry), launcher: await bundleLauncher() };
}
