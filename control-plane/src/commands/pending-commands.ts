import type { CommandResult } from '@flotilla/shared';

interface Waiter {
  deviceId: string;
  resolve(result: CommandResult | undefined): void;
  timer: NodeJS.Timeout;
}

/** Commands sent and not yet answered, by id; each resolves with its result, or undefined at its deadline. */
export class PendingCommands {
  private readonly waiters = new Map<string, Waiter>();

  wait(id: string, deviceId: string, timeoutMs: number): Promise<CommandResult | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.delete(id);
        resolve(undefined);
      }, timeoutMs);
      this.waiters.set(id, { deviceId, resolve, timer });
    });
  }

  /** A result for an unknown id, or from another device than the one asked, is ignored. */
  settle(deviceId: string, result: CommandResult): boolean {
    const waiter = this.waiters.get(result.id);
    if (!waiter || waiter.deviceId !== deviceId) return false;
    clearTimeout(waiter.timer);
    this.waiters.delete(result.id);
    waiter.resolve(result);
    return true;
  }

  /** Answers every waiter with "no result" (shutdown). */
  cancelAll(): void {
    for (const [id, w] of this.waiters) {
      clearTimeout(w.timer);
      this.waiters.delete(id);
      w.resolve(undefined);
    }
  }

  get size(): number {
    return this.waiters.size;
  }
}
