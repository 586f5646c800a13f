import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { errorMessage } from './errors';
import type { Logger } from './logger';

/**
 * The agent's side of systemd's service watchdog (`WatchdogSec=` in its unit): systemd sets
 * WATCHDOG_USEC (and WATCHDOG_PID) and restarts the service when no `WATCHDOG=1` arrives on
 * NOTIFY_SOCKET within that time (sd_watchdog_enabled(3), sd_notify(3)). Node has no unix
 * datagram sockets and a native module is not worth one message, so `systemd-notify` sends
 * it; systemd 246+ waits for the manager to take the message (a barrier), so the sender
 * still exists when systemd checks which unit it belongs to (the unit needs NotifyAccess=all).
 * The pings come from a timer on the event loop: a loop that stops turning (a busy loop,
 * blocking I/O that never returns) stops them, and systemd restarts the agent.
 */

/** How often to ping, from the environment systemd gives the service; undefined when no watchdog is asked for. */
export function watchdogPingInterval(env: NodeJS.ProcessEnv, pid: number): number | undefined {
  const usec = Number(env.WATCHDOG_USEC);
  if (!env.NOTIFY_SOCKET || !Number.isFinite(usec) || usec <= 0) return undefined;
  // WATCHDOG_PID names the process systemd watches; a child that inherited the variables is not it.
  if (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== pid) return undefined;
  // Half the period, as sd_watchdog_enabled(3) advises, so one late ping is not a restart.
  return Math.max(1, Math.floor(usec / 1000 / 2));
}

export type Notify = (assignments: readonly string[]) => Promise<void>;

const systemdNotify =
  (env: NodeJS.ProcessEnv): Notify =>
  async (assignments) =>
    void (await promisify(execFile)('systemd-notify', [...assignments], { env, timeout: 10_000 }));

export class SystemdWatchdog {
  private timer: NodeJS.Timeout | undefined;
  private sending = false;

  constructor(
    private readonly intervalMs: number,
    private readonly logger: Logger,
    private readonly notify: Notify,
  ) {}

  /** Starts pinging when systemd asked for a watchdog; returns undefined otherwise. */
  static fromEnv(logger: Logger, env = process.env, notify?: Notify): SystemdWatchdog | undefined {
    const interval = watchdogPingInterval(env, process.pid);
    if (interval === undefined) return undefined;
    const watchdog = new SystemdWatchdog(interval, logger, notify ?? systemdNotify(env));
    watchdog.start();
    logger.info('systemd watchdog', { pingEveryMs: interval });
    return watchdog;
  }

  start(): void {
    this.ping();
    this.timer = setInterval(() => this.ping(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private ping(): void {
    if (this.sending) return; // a ping still in flight covers this period
    this.sending = true;
    this.notify(['WATCHDOG=1'])
      .catch((err: unknown) => this.logger.warn('could not ping the systemd watchdog', { error: errorMessage(err) }))
      .finally(() => (this.sending = false));
  }
}
