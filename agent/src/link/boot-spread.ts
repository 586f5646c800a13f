import { readFile } from 'node:fs/promises';
import { bootConnectDelay, type ReconnectPolicy } from '@flotilla/shared/device';

/**
 * How long the agent waits before its first connect: a random point of the boot spread counted
 * from the kernel's boot (/proc/uptime), so devices powered on together arrive spread out while
 * an agent restarted later connects at once. An unreadable uptime counts as just booted.
 */
export async function bootSpreadDelayMs(policy: ReconnectPolicy, random: () => number = Math.random): Promise<number> {
  if (policy.bootSpreadMs === 0) return 0;
  const uptimeS = Number((await readFile('/proc/uptime', 'utf8').catch(() => '0')).split(' ')[0]);
  return bootConnectDelay(policy, random(), Number.isFinite(uptimeS) ? uptimeS * 1000 : 0);
}
