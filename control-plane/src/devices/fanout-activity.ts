import { Injectable } from '@nestjs/common';

/**
 * Whether this process is publishing a fan-out of desired states (a rollout's segments, a fleet
 * target's batches): the uplink holds the devices' answers meanwhile (broker/held-answers.ts), so
 * that the fan-out has the cores to itself.
 */
@Injectable()
export class FanoutActivity {
  private active = 0;
  private readonly idleListeners: (() => void)[] = [];

  get busy(): boolean {
    return this.active > 0;
  }

  /** A fan-out began; call the function returned once it has drained (again: no effect). */
  begin(): () => void {
    this.active++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      if (--this.active === 0) for (const listener of this.idleListeners) listener();
    };
  }

  /** Called each time the last fan-out in flight has drained. */
  onIdle(listener: () => void): void {
    this.idleListeners.push(listener);
  }
}
